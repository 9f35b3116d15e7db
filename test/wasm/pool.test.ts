// The kernel thread pool: a trap in a job surfaces as an error and leaves the pool usable,
// results do not depend on the thread count (bitwise), idle workers do not keep the process
// alive, and a non-shared memory is refused with an actionable error.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { loadWasmKernels } from "../../src/backend/cpu/wasm/index.js";
import { makeHarness, randomArray } from "./wasm-harness.js";

test("a non-shared memory is refused", async () => {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 100 });
  await assert.rejects(loadWasmKernels({ memory, threads: 1 }), /shared/);
});

test("a trapping job throws and the pool keeps working", async () => {
  const h = await makeHarness(2);
  try {
    const n = 96;
    const a = h.alloc(n * n);
    h.f32(a, n * n).set(randomArray(n * n, 1));
    const c = h.alloc(n * n);
    const mm = { a, b: a, m: n, n, k: n, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
    const flags = { transA: false, transB: false, alpha: 1, accumulate: false };
    const outside = h.memory.buffer.byteLength - 64;
    assert.throws(() => h.kernels.matmul({ ...mm, ...flags, c: outside }));
    h.kernels.matmul({ ...mm, ...flags, c });
    const x = h.f32(a, n * n);
    let s = 0;
    for (let p = 0; p < n; p++) s += x[p]! * x[p * n + 5]!;
    assert.ok(Math.abs(h.f32(c, n * n)[5]! - s) < 1e-4);
  } finally {
    h.kernels.dispose();
  }
});

test("workers see memory grown after they started", async () => {
  const h = await makeHarness(2);
  try {
    const before = h.memory.buffer.byteLength;
    h.alloc(before / 4); // pushes the next allocations past the initial size
    const n = 160;
    const a = h.alloc(n * n);
    const c = h.alloc(n * n);
    assert.ok(a > before, "operands must lie in the grown region");
    const x = randomArray(n * n, 9);
    h.f32(a, n * n).set(x);
    const mm = { a, b: a, c, m: n, n, k: n, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
    h.kernels.matmul({ ...mm, transA: false, transB: true, alpha: 1, accumulate: false });
    const out = h.f32(c, n * n);
    for (const [i, j] of [
      [0, 0],
      [159, 3],
      [80, 159],
    ] as const) {
      let s = 0;
      for (let p = 0; p < n; p++) s += x[i * n + p]! * x[j * n + p]!;
      assert.ok(Math.abs(out[i * n + j]! - s) < 1e-4, `c[${i},${j}]`);
    }
  } finally {
    h.kernels.dispose();
  }
});

test("matmul and attention backward are bitwise identical on 1 and 2 threads", async () => {
  const outs: Float32Array[][] = [];
  for (const threads of [1, 2]) {
    const h = await makeHarness(threads);
    const [m, n, k] = [200, 136, 300];
    const a = h.alloc(m * k);
    const b = h.alloc(k * n);
    const c = h.alloc(m * n);
    h.f32(a, m * k).set(randomArray(m * k, 2));
    h.f32(b, k * n).set(randomArray(k * n, 3));
    h.kernels.matmul({
      a,
      b,
      c,
      m,
      n,
      k,
      batch: 1,
      strideA: 0,
      strideB: 0,
      strideC: 0,
      transA: false,
      transB: true,
      alpha: 1,
      accumulate: false,
    });
    const dims = { batch: 2, t: 70, s: 90, h: 4, hkv: 2, d: 32, scale: 0.18, causal: true };
    const nq = 2 * 70 * 4 * 32;
    const nkv = 2 * 90 * 2 * 32;
    const p = {
      q: h.alloc(nq),
      k: h.alloc(nkv),
      v: h.alloc(nkv),
      out: h.alloc(nq),
      lse: h.alloc(2 * 4 * 70),
    };
    const g = { dOut: h.alloc(nq), dq: h.alloc(nq), dk: h.alloc(nkv), dv: h.alloc(nkv) };
    h.f32(p.q, nq).set(randomArray(nq, 4));
    h.f32(p.k, nkv).set(randomArray(nkv, 5));
    h.f32(p.v, nkv).set(randomArray(nkv, 6));
    h.f32(g.dOut, nq).set(randomArray(nq, 7));
    h.kernels.attention({ ...dims, ...p });
    h.kernels.attentionBackward({ ...dims, ...p, ...g, accumulateKV: false });
    outs.push([c, p.out, g.dq, g.dk, g.dv].map((at, i) => h.f32(at, [m * n, nq, nq, nkv, nkv][i]!).slice()));
    h.kernels.dispose();
  }
  for (const [i, x] of outs[0]!.entries()) assert.deepEqual(outs[1]![i], x, `output ${i}`);
});

test("idle workers do not keep the process alive", () => {
  const url = new URL("../../src/backend/cpu/wasm/index.js", import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(url)});
const memory = new WebAssembly.Memory({ initial: 1, maximum: 65536, shared: true });
const k = await m.loadWasmKernels({ memory, threads: 2 });
console.log("loaded", k.threads);`;
  // keep only loader flags (tsx when run from source) from this process's flags
  const loaders = process.execArgv.filter(
    (a, i, all) => a.startsWith("--import") || all[i - 1] === "--import",
  );
  const r = spawnSync(process.execPath, [...loaders, "--input-type=module", "-e", code], {
    timeout: 30_000,
    encoding: "utf8",
  });
  assert.equal(r.signal, null, "the child process hung");
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /loaded 2/);
});
