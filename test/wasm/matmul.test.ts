// wasm f32 matmul vs a naive f64 matmul: all transposes, odd sizes, batch and broadcast B,
// accumulate and alpha, on 1 and 2 threads; guard bands catch writes outside C.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Harness, makeHarness, randomArray, relError } from "./wasm-harness.js";

interface Case {
  m: number;
  n: number;
  k: number;
  batch: number;
  broadcastB: boolean;
  transA: boolean;
  transB: boolean;
  alpha: number;
  accumulate: boolean;
}

// C[bi] = alpha * op(A[bi]) @ op(B[bi or 0]) (+ C0) in f64.
function reference(c: Case, a: Float32Array, b: Float32Array, c0: Float32Array): Float64Array {
  const { m, n, k } = c;
  const out = new Float64Array(c.batch * m * n);
  for (let bi = 0; bi < c.batch; bi++) {
    const ao = bi * m * k;
    const bo = c.broadcastB ? 0 : bi * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) {
          const av = c.transA ? a[ao + p * m + i]! : a[ao + i * k + p]!;
          const bv = c.transB ? b[bo + j * k + p]! : b[bo + p * n + j]!;
          s += av * bv;
        }
        const o = bi * m * n + i * n + j;
        out[o] = c.alpha * s + (c.accumulate ? c0[o]! : 0);
      }
    }
  }
  return out;
}

function runCase(h: Harness, c: Case, seed: number): number {
  h.reset();
  const { m, n, k, batch } = c;
  const a = randomArray(batch * m * k, seed);
  const b = randomArray((c.broadcastB ? 1 : batch) * k * n, seed + 1);
  const c0 = randomArray(batch * m * n, seed + 2);
  const pa = h.alloc(a.length);
  const pb = h.alloc(b.length);
  const pc = h.alloc(c0.length);
  h.f32(pa, a.length).set(a);
  h.f32(pb, b.length).set(b);
  h.f32(pc, c0.length).set(c.accumulate ? c0 : c0.map(() => Number.NaN));
  h.kernels.matmul({
    a: pa,
    b: pb,
    c: pc,
    m,
    n,
    k,
    batch,
    strideA: m * k,
    strideB: c.broadcastB ? 0 : k * n,
    strideC: m * n,
    transA: c.transA,
    transB: c.transB,
    alpha: c.alpha,
    accumulate: c.accumulate,
  });
  h.checkGuards();
  return relError(h.f32(pc, c0.length), reference(c, a, b, c0));
}

const base: Case = {
  m: 1,
  n: 1,
  k: 1,
  batch: 1,
  broadcastB: false,
  transA: false,
  transB: false,
  alpha: 1,
  accumulate: false,
};

for (const threads of [1, 2]) {
  let h: Harness;
  before(async () => {
    h = await makeHarness(threads);
  });
  after(() => h.kernels.dispose());

  test(`matmul odd sizes x all transposes (threads ${threads})`, () => {
    const sizes = [1, 3, 17, 33, 65, 127, 129];
    let seed = 1;
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        for (const [m, n, k] of [
          ...sizes.map((s) => [s, s, s]),
          [1, 129, 65],
          [127, 1, 33],
          [33, 65, 1],
          [5, 300, 260],
          [260, 9, 513],
        ] as [number, number, number][]) {
          const err = runCase(h, { ...base, m, n, k, transA, transB }, seed++);
          assert.ok(
            err < 1e-5 * Math.sqrt(k) + 1e-6,
            `m=${m} n=${n} k=${k} tA=${transA} tB=${transB}: ${err}`,
          );
        }
      }
    }
  });

  test(`matmul batch, broadcast B, alpha, accumulate (threads ${threads})`, () => {
    let seed = 100;
    for (const broadcastB of [false, true]) {
      for (const accumulate of [false, true]) {
        for (const [m, n, k, batch] of [
          [17, 33, 65, 3],
          [64, 8, 300, 5],
          [3, 129, 17, 7],
        ] as [number, number, number, number][]) {
          const c = { ...base, m, n, k, batch, broadcastB, accumulate, alpha: -0.37, transB: seed % 2 === 0 };
          const err = runCase(h, c, seed++);
          assert.ok(err < 1e-5 * Math.sqrt(k) + 1e-6, `${JSON.stringify(c)}: ${err}`);
        }
      }
    }
  });

  test(`matmul small M with B stored (N, K) (the streaming decode path) (threads ${threads})`, () => {
    let seed = 200;
    for (const [m, n, k, batch, broadcastB, accumulate, transA] of [
      [1, 1000, 515, 1, false, false, false],
      [4, 777, 64, 2, true, true, false],
      [3, 130, 33, 3, false, true, true],
      [2, 4099, 17, 1, false, false, true],
    ] as [number, number, number, number, boolean, boolean, boolean][]) {
      const c = { ...base, m, n, k, batch, broadcastB, accumulate, transA, transB: true, alpha: 0.75 };
      const err = runCase(h, c, seed++);
      assert.ok(err < 1e-5 * Math.sqrt(k) + 1e-6, `${JSON.stringify(c)}: ${err}`);
    }
  });

  test(`matmul k = 0 writes zeros or leaves C (threads ${threads})`, () => {
    for (const accumulate of [false, true]) {
      const err = runCase(h, { ...base, m: 9, n: 10, k: 0, accumulate, alpha: 2 }, 7);
      assert.equal(err, 0);
    }
  });
}
