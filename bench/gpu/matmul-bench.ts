// GPU matmul benchmark through the WebGPU backend: every f32 tile that fits, square sizes, sampled
// f64 check of each result; the f16 tensor-core (subgroup-matrix) path probed in a CHILD process
// (it has crashed Dawn before); f16-stored b. Prints JSON lines as it goes and a table last.
//   node dist/bench/gpu/matmul-bench.js [--sizes 1024,2048,4096,8192] [--no-tc]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Backend } from "../../src/backend/backend.js";
import { createBackend } from "../../src/backend/registry.js";
import { type DType, type Tensor, view } from "../../src/backend/tensor.js";
import {
  MATMUL_TILES,
  type MatmulTile,
  SUBGROUP_TILE,
  setMatmulTileOverride,
  tileFits,
} from "../../src/backend/webgpu/ops/matmul.js";
import { timeOp } from "../../src/bench/timing.js";
import { benchStepShapes, STRATEGIES } from "./matmul-step-shapes.js";

interface Row {
  kernel: string;
  n: number;
  tflops: number;
  ms: number;
  relErr: number | null;
  note?: string;
}

/** Other tiles tried at n >= 2048 besides the production list. */
const EXTRA_TILES: MatmulTile[] = [
  // 256x128 (16x8 per thread) measured 2 TFLOP/s on an H200 (register spills): not retried
  { bm: 64, bn: 128, bk: 8, tm: 4, tn: 8 },
  { bm: 64, bn: 128, bk: 4, tm: 4, tn: 8 },
];

const TIMING = { warmup: 2, minReps: 5, maxReps: 20, minSeconds: 0.4 };
const argv = process.argv.slice(2);
const arg = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const sizes = (arg("--sizes") ?? "1024,2048,4096,8192").split(",").map(Number);

function random(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32 - 0.5;
  }
  return x;
}

/** Relative error of `got` on 256 sampled entries of A (n, n) @ B (n, n), in f64. */
function sampledError(got: Float32Array, a: Float32Array, b: Float32Array, n: number): number {
  let num = 0;
  let den = 0;
  for (let s = 0; s < 256; s++) {
    const i = (s * 7919) % n;
    const j = (s * 104729 + 13) % n;
    let r = 0;
    for (let k = 0; k < n; k++) r += a[i * n + k]! * b[k * n + j]!;
    const g = got[i * n + j]!;
    if (!Number.isFinite(g)) return Number.POSITIVE_INFINITY;
    num += (g - r) ** 2;
    den += r * r;
  }
  return Math.sqrt(num / den);
}

function tileName(t: MatmulTile): string {
  return `f32 ${t.bm}x${t.bn}x${t.bk} ${t.tm}x${t.tn}`;
}

async function measure(
  be: Backend,
  n: number,
  kernel: string,
  opts: { bDtype?: DType; check?: boolean },
): Promise<Row> {
  const a = random(n * n, n);
  const b = random(n * n, n + 1);
  const ta = view(be.createBuffer(n * n, "f32"), [n, n]);
  const tb = view(be.createBuffer(n * n, opts.bDtype ?? "f32"), [n, n]);
  const tc: Tensor = view(be.createBuffer(n * n, "f32"), [n, n]);
  be.write(ta, a);
  be.write(tb, b);
  let relErr: number | null = null;
  try {
    if (opts.check !== false) {
      be.fill(tc, Number.NaN);
      be.matmul(tc, ta, tb);
      const got = (await be.read(tc)) as Float32Array;
      // f16-stored b: compare against the b the kernel saw (rounded), so only the kernel's error shows
      const bSeen = opts.bDtype && opts.bDtype !== "f32" ? ((await be.read(tb)) as Float32Array) : b;
      relErr = sampledError(got, a, bSeen, n);
    }
    const s = await timeOp(
      () => be.matmul(tc, ta, tb),
      () => be.sync(),
      TIMING,
    );
    return { kernel, n, tflops: (2 * n ** 3) / s / 1e12, ms: s * 1e3, relErr };
  } finally {
    for (const t of [ta, tb, tc]) be.destroyBuffer(t.buffer);
  }
}

function emit(rows: Row[], r: Row): void {
  rows.push(r);
  console.log(JSON.stringify({ bench: "matmul", ...r }));
}

async function tensorCoreChild(): Promise<void> {
  let be: Backend;
  try {
    be = await createBackend("webgpu", { tensorCores: true });
  } catch (e) {
    const note = `unavailable: ${(e as Error).message}`;
    console.log(JSON.stringify({ bench: "matmul", kernel: "f16 subgroup-matrix", note }));
    return;
  }
  setMatmulTileOverride(SUBGROUP_TILE);
  for (const n of sizes) {
    const r = await measure(be, n, "f16 subgroup-matrix", { check: n <= 4096 });
    console.log(JSON.stringify({ bench: "matmul", ...r }));
  }
  be.dispose();
}

async function main(): Promise<void> {
  if (argv.includes("--tc-child")) return tensorCoreChild();
  const rows: Row[] = [];
  const be = await createBackend("webgpu");
  const info = be.info();
  console.log(`device: ${info.device} (${info.detail}); features: ${info.features.join(" ")}`);
  const limits = info.limits as unknown as Parameters<typeof tileFits>[1];
  if (argv.includes("--step")) {
    const names = (arg("--strategies") ?? Object.keys(STRATEGIES).join(",")).split(",");
    await benchStepShapes(be, names, arg("--what")?.split(","));
    if (!arg("--sizes")) {
      be.dispose();
      return;
    }
  }
  const autoOnly = argv.includes("--auto-only");
  for (const n of sizes) {
    for (const t of autoOnly ? [] : n >= 2048 ? [...MATMUL_TILES, ...EXTRA_TILES] : MATMUL_TILES) {
      if (!tileFits(t, limits)) continue;
      setMatmulTileOverride(t);
      emit(rows, await measure(be, n, tileName(t), { check: n <= 4096 }));
    }
    setMatmulTileOverride(undefined);
    emit(rows, await measure(be, n, "f32 auto (backend choice)", { check: false }));
  }
  const nf16 = Math.max(...sizes.filter((n) => n <= 4096));
  emit(rows, await measure(be, nf16, "f32 auto, b f16", { bDtype: "f16" }));
  be.dispose();

  if (!argv.includes("--no-tc")) {
    const child = spawnSync(
      process.execPath,
      [...process.execArgv, fileURLToPath(import.meta.url), "--tc-child", ...argv],
      {
        encoding: "utf8",
        timeout: 150_000,
      },
    );
    for (const line of child.stdout.split("\n")) {
      if (!line.startsWith("{")) continue;
      const r = JSON.parse(line) as Row & { note?: string };
      emit(rows, {
        kernel: r.kernel,
        n: r.n ?? 0,
        tflops: r.tflops ?? 0,
        ms: r.ms ?? 0,
        relErr: r.relErr ?? null,
        ...(r.note ? { note: r.note } : {}),
      });
    }
    if (child.status !== 0) {
      const why = child.signal ? `signal ${child.signal}` : `exit ${child.status}`;
      const tail = (child.stderr ?? "").trim().split("\n").slice(0, 12).join(" | ");
      emit(rows, {
        kernel: "f16 subgroup-matrix",
        n: 0,
        tflops: 0,
        ms: 0,
        relErr: null,
        note: `child died: ${why}: ${tail}`,
      });
    }
  }

  console.log(`\nmatmul on ${info.device} (${info.detail}), square n x n x n, median of timed batches`);
  console.log("kernel                        n      TFLOP/s   ms        rel.err   note");
  for (const r of rows) {
    const err = r.relErr === null ? "-" : r.relErr.toExponential(1);
    console.log(
      `${r.kernel.padEnd(28)}  ${String(r.n).padStart(5)}  ${r.tflops.toFixed(2).padStart(7)}  ${r.ms.toFixed(3).padStart(8)}  ${err.padStart(8)}  ${r.note ?? ""}`,
    );
  }
}

await main();
