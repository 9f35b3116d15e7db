// WebGPU matmul schedules (ops/matmul-schedule.ts): with H100 limits, the step's shapes get an
// unchecked 8x8 interior plus 4x4 checked strips that tile M x N exactly once, and split-K where the
// output is small and K long; on this machine's WebGPU (llvmpipe in CI), edge-strip shapes
// (N = 33, 129, 1376, 2752) and split-K on/off agree with the f64 reference and each other.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { MatmulOptions } from "../../src/backend/backend.js";
import { type Tensor, view } from "../../src/backend/tensor.js";
import { createWebGpuBackend } from "../../src/backend/webgpu/index.js";
import { checkSafe, MATMUL_TILES, setMatmulTileOverride } from "../../src/backend/webgpu/ops/matmul.js";
import {
  type MatmulSchedule,
  scheduleMatmul,
  setMatmulStrategy,
} from "../../src/backend/webgpu/ops/matmul-schedule.js";
import { referenceBackend } from "../helpers/backends.js";
import { checkOp } from "../helpers/op-case.js";
import { makeRng, uniform } from "../helpers/random.js";
import { type MatmulCase, matmulCase } from "./matmul-case.js";

const H100 = {
  maxComputeWorkgroupStorageSize: 49152,
  maxComputeInvocationsPerWorkgroup: 1024,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 2 ** 31 - 4,
};

let nextBuf = 0;
function fake(shape: number[]): Tensor {
  const size = shape.reduce((x, y) => x * y, 1);
  return { buffer: { id: nextBuf++, size, dtype: "f32", label: "fake" }, offset: 0, shape, dtype: "f32" };
}

function plan(m: number, n: number, k: number, opts: MatmulOptions = {}): MatmulSchedule {
  const a = fake(opts.transA ? [k, m] : [m, k]);
  const b = fake(opts.transB ? [n, k] : [k, n]);
  return scheduleMatmul(fake([m, n]), a, b, opts, H100);
}

/** Asserts that the dispatches' blocks, clipped to M x N, cover every element exactly once. */
function assertTiles(s: MatmulSchedule): void {
  const { m, n } = s.shape;
  const rects = s.gemms.map((g) => {
    const [gx, gy] = g.workgroups;
    const r = {
      m0: g.origin[0],
      n0: g.origin[1],
      m1: g.origin[0] + gy * g.tile.bm,
      n1: g.origin[1] + gx * g.tile.bn,
    };
    if (g.region === "interior") assert.ok(r.m1 <= m && r.n1 <= n, `unchecked ${g.region} leaves M x N`);
    else assert.ok(g.key.endsWith(`1:f32`), `${g.region} must be the checked variant: ${g.key}`);
    return { m0: r.m0, n0: r.n0, m1: Math.min(m, r.m1), n1: Math.min(n, r.n1) };
  });
  let area = 0;
  rects.forEach((r, i) => {
    area += (r.m1 - r.m0) * (r.n1 - r.n0);
    for (const q of rects.slice(i + 1)) {
      const disjoint = r.m1 <= q.m0 || q.m1 <= r.m0 || r.n1 <= q.n0 || q.n1 <= r.n0;
      assert.ok(disjoint, `regions overlap: ${JSON.stringify([r, q])}`);
    }
  });
  assert.equal(area, m * n, "regions must cover M x N");
}

test("matmul schedule: odd N gets an unchecked 8x8-per-thread interior and a 4x4 checked strip (H100 limits)", () => {
  for (const [m, n, k, opts] of [
    [16384, 2752, 512, { transB: true }],
    [16384, 1376, 512, {}],
  ] as const) {
    const s = plan(m, n, k, opts);
    const interior = s.gemms.find((g) => g.region === "interior");
    assert.ok(interior, "an unchecked interior dispatch");
    assert.equal(interior.tile, MATMUL_TILES[0], "the first (fastest) tile");
    assert.equal(interior.tile.tm * interior.tile.tn, 64);
    assert.equal(s.splits, 1);
    for (const g of s.gemms) if (g.region !== "interior") assert.ok(checkSafe(g.tile), g.key);
    assertTiles(s);
  }
});

test("matmul schedule: regions tile M x N exactly once for odd shapes", () => {
  for (const m of [1, 33, 129, 200, 2752, 16384]) {
    for (const n of [1, 33, 64, 129, 1376, 2752]) {
      for (const k of [8, 13, 512, 16384]) assertTiles(plan(m, n, k, { transA: k === 16384 }));
    }
  }
});

test("matmul schedule: split-K for small outputs with long K; square shapes unchanged", () => {
  for (const [m, n] of [
    [512, 512],
    [64, 512],
    [2752, 512],
    [512, 1376],
    [2048, 512],
  ]) {
    const s = plan(m!, n!, 16384, { transA: true, accumulate: true });
    const groups = s.gemms.reduce((x, g) => x + g.workgroups[0] * g.workgroups[1] * g.workgroups[2], 0);
    assert.ok(s.splits > 1, `[${m},${n}] splits`);
    assert.ok(groups >= 256, `[${m},${n}] fills the GPU: ${groups} workgroups`);
    assert.equal(s.kChunk % s.tile.bk, 0);
    assert.ok(s.splits * s.kChunk >= 16384 && (s.splits - 1) * s.kChunk < 16384, "splits cover K");
    assert.equal(s.partialNumel, s.splits * m! * n!);
    assert.ok(s.reduce && s.gemms.every((g) => g.partial));
    assertTiles(s);
  }
  const sq = plan(4096, 4096, 4096);
  assert.equal(sq.gemms.length, 1);
  assert.equal(sq.gemms[0]!.region, "interior");
  assert.equal(sq.splits, 1);
});

test("matmul schedule: out overlapping a runs as one dispatch", () => {
  const a = fake([200, 200]);
  const s = scheduleMatmul(a, a, fake([200, 200]), {}, H100);
  assert.equal(s.gemms.length, 1);
});

const be = await createWebGpuBackend();
const ref = await referenceBackend();
after(() => {
  setMatmulTileOverride(undefined);
  setMatmulStrategy(undefined);
  be.dispose();
});
const limits = be.info().limits as unknown as typeof H100;
const TILE_128 = { bm: 128, bn: 128, bk: 4, tm: 8, tn: 8 };

test("webgpu matmul: edge strips (N = 2752, 1376, 129, 161 = 128 + 33) beside a 128x128 interior", async () => {
  setMatmulTileOverride(TILE_128);
  try {
    let seed = 101;
    const cases: MatmulCase[] = [
      { batch: 1, m: 130, k: 8, n: 2752, opts: { transB: true } },
      { batch: 1, m: 129, k: 12, n: 1376, opts: {} },
      { batch: 2, m: 131, k: 8, n: 129, opts: { accumulate: true, alpha: -0.5 } },
      { batch: 1, m: 257, k: 16, n: 161, opts: { transA: true } }, // 33-wide strip
    ];
    for (const c of cases) {
      const s = plan(c.m, c.n, c.k, c.opts);
      assert.ok(s.gemms.some((g) => g.region === "interior") && s.gemms.length > 1, "interior + strips");
      await checkOp(be, ref, matmulCase(c, seed++));
    }
  } finally {
    setMatmulTileOverride(undefined);
  }
});

test("webgpu matmul: automatic schedules at odd sizes", async () => {
  let seed = 201;
  for (const c of [
    { batch: 1, m: 70, k: 24, n: 33, opts: { transB: true } },
    { batch: 1, m: 65, k: 20, n: 129, opts: {} },
    { batch: 3, m: 33, k: 16, n: 66, opts: { transA: true } },
  ] satisfies MatmulCase[])
    await checkOp(be, ref, matmulCase(c, seed++));
});

async function runMatmul(c: MatmulCase, seed: number): Promise<Float32Array> {
  const rng = makeRng(seed);
  const { m, k, n, batch } = c;
  const ta = view(be.createBuffer(batch * m * k, "f32"), [batch, ...(c.opts.transA ? [k, m] : [m, k])]);
  const tb = view(be.createBuffer(batch * k * n, "f32"), [batch, ...(c.opts.transB ? [n, k] : [k, n])]);
  const tc = view(be.createBuffer(batch * m * n, "f32"), [batch, m, n]);
  be.write(ta, uniform(rng, batch * m * k));
  be.write(tb, uniform(rng, batch * k * n));
  be.write(tc, uniform(rng, batch * m * n));
  be.matmul(tc, ta, tb, c.opts);
  const got = (await be.read(tc)) as Float32Array;
  for (const t of [ta, tb, tc]) be.destroyBuffer(t.buffer);
  return got;
}

test("webgpu matmul: split-K on/off agree, match the reference and are deterministic", async () => {
  const cases: [MatmulCase, typeof TILE_128 | undefined][] = [
    [{ batch: 2, m: 130, k: 64, n: 129, opts: { accumulate: true, alpha: 0.5 } }, TILE_128],
    [{ batch: 1, m: 40, k: 1000, n: 24, opts: { transA: true } }, undefined],
    [{ batch: 1, m: 33, k: 300, n: 17, opts: { transB: true } }, undefined], // K % 4 != 0: checked
  ];
  let seed = 301;
  try {
    for (const [c, tile] of cases) {
      setMatmulTileOverride(tile);
      setMatmulStrategy({ splitK: 4 });
      const s = plan(c.m, c.n, c.k, c.opts);
      assert.ok(s.splits > 1, `${JSON.stringify(c)} splits`);
      await checkOp(be, ref, matmulCase(c, seed));
      const split1 = await runMatmul(c, seed);
      const split2 = await runMatmul(c, seed);
      assert.deepEqual(split1, split2, "split-K reruns are bit-identical");
      setMatmulStrategy({ splitK: 1 });
      const whole = await runMatmul(c, seed);
      let worst = 0;
      for (let i = 0; i < whole.length; i++) worst = Math.max(worst, Math.abs(whole[i]! - split1[i]!));
      assert.ok(worst <= 1e-5 * Math.sqrt(c.k), `split-K vs none: max |diff| ${worst}`);
      seed++;
    }
  } finally {
    setMatmulTileOverride(undefined);
    setMatmulStrategy(undefined);
  }
});

test("webgpu matmul: automatic split-K for a long K", async () => {
  const c: MatmulCase = { batch: 1, m: 32, k: 4096, n: 20, opts: { transA: true, accumulate: true } };
  const s = scheduleMatmul(fake([32, 20]), fake([4096, 32]), fake([4096, 20]), c.opts, limits);
  assert.ok(s.splits > 1, "auto split at K = 4096");
  await checkOp(be, ref, matmulCase(c, 401));
});
