// The matmul shapes of one training step of small-H64-MQA at batch 32 x seq 512 (N = 16384, C 512,
// F 1376, V 8192, calls per step from bench/results/h100-step-webgpu.txt), timed under several
// matmul strategies (legacy single dispatch vs regions vs split-K) with a sampled f64 check.
// Used by matmul-bench.ts --step; prints JSON lines and a table. Timing only, no assertions.
import type { Backend, MatmulOptions } from "../../src/backend/backend.js";
import { type Tensor, view } from "../../src/backend/tensor.js";
import { MATMUL_TILES, type MatmulTile, setMatmulTileOverride } from "../../src/backend/webgpu/ops/matmul.js";
import {
  type MatmulStrategy,
  scheduleMatmul,
  setMatmulStrategy,
} from "../../src/backend/webgpu/ops/matmul-schedule.js";
import { timeOp } from "../../src/bench/timing.js";

export interface StepShape {
  m: number;
  n: number;
  k: number;
  opts: MatmulOptions;
  calls: number;
  what: string;
}

export const STEP_SHAPES: readonly StepShape[] = [
  { m: 16384, n: 2752, k: 512, opts: { transB: true }, calls: 8, what: "gate/up fwd" },
  { m: 16384, n: 1376, k: 512, opts: {}, calls: 8, what: "down bwd dX" },
  { m: 512, n: 512, k: 16384, opts: { transA: true, accumulate: true }, calls: 16, what: "wq/wo grad" },
  { m: 64, n: 512, k: 16384, opts: { transA: true, accumulate: true }, calls: 16, what: "wk/wv grad" },
  { m: 2752, n: 512, k: 16384, opts: { transA: true, accumulate: true }, calls: 8, what: "gate/up grad" },
  { m: 16384, n: 512, k: 2752, opts: {}, calls: 8, what: "gate/up bwd dX" },
  { m: 512, n: 1376, k: 16384, opts: { transA: true, accumulate: true }, calls: 8, what: "down grad" },
  { m: 16384, n: 512, k: 512, opts: { transB: true }, calls: 16, what: "q/o fwd" },
  { m: 16384, n: 512, k: 512, opts: {}, calls: 16, what: "q/o bwd dX" },
  { m: 8192, n: 512, k: 16384, opts: { transA: true, accumulate: true }, calls: 1, what: "lm_head grad" },
  { m: 16384, n: 512, k: 1376, opts: { transB: true }, calls: 8, what: "down fwd" },
  { m: 16384, n: 512, k: 8192, opts: {}, calls: 1, what: "lm_head bwd dX" },
  { m: 16384, n: 8192, k: 512, opts: { transB: true }, calls: 1, what: "lm_head fwd" },
  { m: 16384, n: 64, k: 512, opts: { transB: true }, calls: 16, what: "k/v fwd" },
  { m: 16384, n: 512, k: 64, opts: {}, calls: 16, what: "k/v bwd dX" },
];

export const STRATEGIES: Record<string, Partial<MatmulStrategy>> = {
  legacy: { edges: "whole", splitK: 1 },
  "whole+splitK": { edges: "whole", splitK: "auto" },
  regions: { edges: "regions", splitK: 1 },
  auto: {},
};

/**
 * A strategy name: one of STRATEGIES, or "t<BM>x<BN>x<BK>" (that interior tile, automatic split),
 * "s<n>" (automatic tile, split-K n; shapes with K >= 4096 only) or both ("t64x64x16/s32").
 * Undefined when the name does not apply to this shape.
 */
function parseStrategy(
  name: string,
  autoTile: MatmulTile,
  k: number,
): { strategy: Partial<MatmulStrategy>; tile?: MatmulTile } | undefined {
  const fixed = STRATEGIES[name];
  if (fixed) return { strategy: fixed };
  const t = /t(\d+)x(\d+)x(\d+)/.exec(name);
  const sp = /s(\d+)$/.exec(name);
  const tile = t
    ? MATMUL_TILES.find((x) => x.bm === Number(t[1]) && x.bn === Number(t[2]) && x.bk === Number(t[3]))
    : autoTile;
  if (!tile || (sp && !t && k < 4096)) return undefined;
  return { strategy: sp ? { splitK: Number(sp[1]) } : {}, tile };
}

const TIMING = { warmup: 2, minReps: 5, maxReps: 20, minSeconds: 0.3 };

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

/** Relative error on 256 sampled entries of alpha * op(a) @ op(b) (+ init), in f64. */
function sampledError(got: Float32Array, a: Float32Array, b: Float32Array, sh: StepShape): number {
  const { m, n, k } = sh;
  const ta = !!sh.opts.transA;
  const tb = !!sh.opts.transB;
  let num = 0;
  let den = 0;
  for (let s = 0; s < 256; s++) {
    const i = (s * 7919) % m;
    const j = (s * 104729 + 13) % n;
    let r = 0;
    for (let q = 0; q < k; q++) r += a[ta ? q * m + i : i * k + q]! * b[tb ? j * k + q : q * n + j]!;
    const g = got[i * n + j]!;
    if (!Number.isFinite(g)) return Number.POSITIVE_INFINITY;
    num += (g - r) ** 2;
    den += r * r;
  }
  return Math.sqrt(num / den);
}

export interface StepRow {
  shape: string;
  what: string;
  strategy: string;
  ms: number;
  tflops: number;
  relErr: number | null;
}

/** Times every step shape under each strategy; the f64 check runs on "auto" (accumulate off). */
export async function benchStepShapes(
  be: Backend,
  names: readonly string[],
  only?: readonly string[],
  shapes: readonly StepShape[] = STEP_SHAPES,
): Promise<StepRow[]> {
  shapes = shapes.filter((x) => !only || only.includes(x.what));
  const rows: StepRow[] = [];
  const perStep = new Map<string, number>();
  for (const sh of shapes) {
    const { m, n, k } = sh;
    const a = random(m * k, m + k);
    const b = random(k * n, n + 7);
    const ta = view(be.createBuffer(m * k, "f32"), sh.opts.transA ? [k, m] : [m, k]);
    const tb = view(be.createBuffer(k * n, "f32"), sh.opts.transB ? [n, k] : [k, n]);
    const tc: Tensor = view(be.createBuffer(m * n, "f32"), [m, n]);
    be.write(ta, a);
    be.write(tb, b);
    const label = `[${m},${n}]x[${ta.shape}]x[${tb.shape}]${sh.opts.transA ? " tA" : ""}${sh.opts.transB ? " tB" : ""}`;
    try {
      const limits = be.info().limits as unknown as Parameters<typeof scheduleMatmul>[4];
      const autoTile = scheduleMatmul(tc, ta, tb, sh.opts, limits).tile;
      // untimed first use of the fresh buffers (the first strategy timed otherwise paid for it)
      be.matmul(tc, ta, tb, sh.opts);
      await be.sync();
      for (const name of names) {
        const st = parseStrategy(name, autoTile, k);
        if (!st) continue;
        setMatmulStrategy(st.strategy);
        setMatmulTileOverride(st.tile);
        let relErr: number | null = null;
        if (name === "auto") {
          be.fill(tc, Number.NaN);
          be.matmul(tc, ta, tb, { ...sh.opts, accumulate: false });
          relErr = sampledError((await be.read(tc)) as Float32Array, a, b, sh);
        }
        const s = await timeOp(
          () => be.matmul(tc, ta, tb, sh.opts),
          () => be.sync(),
          TIMING,
        );
        const r = {
          shape: label,
          what: sh.what,
          strategy: name,
          ms: s * 1e3,
          tflops: (2 * m * n * k) / s / 1e12,
          relErr,
        };
        rows.push(r);
        perStep.set(name, (perStep.get(name) ?? 0) + s * 1e3 * sh.calls);
        console.log(JSON.stringify({ bench: "matmul-step", calls: sh.calls, ...r }));
      }
    } finally {
      setMatmulStrategy(undefined);
      setMatmulTileOverride(undefined);
      for (const t of [ta, tb, tc]) be.destroyBuffer(t.buffer);
    }
  }
  console.log(`\nstep matmul shapes (TFLOP/s, ms per call), strategies: ${names.join(", ")}`);
  console.log(
    `${"shape".padEnd(44)} ${"what".padEnd(15)} ${names.map((x) => x.padStart(20)).join(" ")}  relErr`,
  );
  for (const sh of shapes) {
    const mine = rows.filter((r) => r.what === sh.what);
    const cells = names.map((x) => {
      const r = mine.find((q) => q.strategy === x);
      return (r ? `${r.tflops.toFixed(1)} / ${r.ms.toFixed(3)}` : "-").padStart(20);
    });
    const err = mine.find((q) => q.relErr !== null)?.relErr;
    console.log(
      `${(mine[0]?.shape ?? "").padEnd(44)} ${sh.what.padEnd(15)} ${cells.join(" ")}  ${err?.toExponential(1) ?? "-"}`,
    );
  }
  const tot = names.map((x) => `${x} ${(perStep.get(x) ?? 0).toFixed(1)} ms`).join(", ");
  console.log(`matmul time per training step (calls x ms): ${tot}`);
  return rows;
}
