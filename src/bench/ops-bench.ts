// `bench ops`: times the Backend's hot ops (matmul at square sizes, causal attention forward and
// backward) through the Backend interface only, with a ceiling per device and, on the CPU,
// onnxruntime-node's MatMul as a peer. Produces rows; printing lives in report.ts.
import type { Backend, BackendName } from "../backend/backend.js";
import { createBackend } from "../backend/registry.js";
import { type Tensor, view } from "../backend/tensor.js";
import { type Ceiling, cpuCeiling, knownCeiling } from "./ceilings.js";
import { idleFraction, idleNote } from "./idle.js";
import { loadOnnxPeer, type MatmulPeer } from "./onnx-peer.js";
import { QUICK_SHAPE, streamingOpRows, TRAIN_30M } from "./ops-webgpu-rows.js";
import { DEFAULT_TIMING, QUICK_TIMING, type TimingOptions, timeOp } from "./timing.js";

export interface BenchRow {
  op: string;
  backend: string;
  shape: number[];
  seconds: number;
  gflops: number;
  /** Bytes moved per second (GB/s), for memory-bound rows (decode attention). */
  gbps?: number;
  /** The device's f32 GFLOP/s ceiling, when known. */
  ceiling?: number;
  /** Set on rows timed on a peer library (its name). */
  peer?: string;
}

export interface OpsBenchOptions {
  backend: BackendName;
  quick?: boolean;
  /** WebGPU only: matmuls on f16 tensor cores (rows named "matmul-f16tc"). */
  tensorCores?: boolean;
  /** CPU only: kernel threads (default: available cores). */
  threads?: number;
  /** CPU only: time onnxruntime-node's MatMul beside ours (default true). */
  peer?: boolean;
  onRow?: (row: BenchRow) => void;
}

export interface OpsBenchResult {
  device: string;
  detail: string;
  ceiling?: Ceiling;
  rows: BenchRow[];
  notes: string[];
}

/** Attention shapes: B, T (queries), S (keys), H, Hkv, D. */
type AttnShape = [number, number, number, number, number, number];

function plan(backend: BackendName, quick: boolean) {
  const gpu = backend === "webgpu";
  const matmul = quick
    ? [256, 512, 1024]
    : gpu
      ? [256, 512, 1024, 2048, 4096, 8192]
      : [256, 512, 1024, 2048, 4096];
  const attention: AttnShape[] = quick
    ? [
        [1, 256, 256, 8, 8, 64],
        [1, 512, 512, 8, 2, 64],
        [4, 1, 1024, 16, 4, 64],
      ]
    : [
        [1, 512, 512, 8, 8, 64],
        [1, 1024, 1024, 8, 2, 64],
        [1, 1024, 1024, 16, 1, 128],
        [1, 2048, 2048, 8, 8, 64],
        [4, 1, 2048, 16, 4, 64],
        ...(gpu ? ([[1, 4096, 4096, 16, 4, 64]] as AttnShape[]) : []),
      ];
  return { matmul, attention };
}

function randomTensor(b: Backend, shape: number[]): Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  const t = view(b.createBuffer(n, "f32"), shape);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = Math.random() - 0.5;
  b.write(t, data);
  return t;
}

/** Query-key pairs a causal attention computes (query t sees t + S - T + 1 keys). */
function causalPairs(t: number, s: number): number {
  let n = 0;
  for (let i = 0; i < t; i++) n += Math.max(0, Math.min(s, i + s - t + 1));
  return n;
}

export async function runOpsBench(opts: OpsBenchOptions): Promise<OpsBenchResult> {
  const quick = opts.quick ?? false;
  const idleBefore = await idleFraction();
  const timing: TimingOptions = quick ? QUICK_TIMING : DEFAULT_TIMING;
  const backend = await createBackend(opts.backend, {
    ...(opts.threads ? { threads: opts.threads } : {}),
    ...(opts.tensorCores ? { tensorCores: true } : {}),
  });
  const info = backend.info();
  const notes: string[] = [];
  const rows: BenchRow[] = [];
  const threads = opts.threads ?? info.limits.maxThreads ?? 1;
  const ceiling = opts.backend === "cpu" ? await cpuCeiling(threads) : knownCeiling(info.device);
  if (ceiling) notes.push(`ceiling: ${ceiling.source}`);
  else notes.push(`ceiling: no known figures for "${info.device}" (add it to src/bench/ceilings.ts)`);
  const emit = (row: BenchRow) => {
    const r = ceiling ? { ...row, ceiling: ceiling.gflops } : row;
    rows.push(r);
    opts.onRow?.(r);
  };
  let peer: MatmulPeer | undefined;
  if (opts.backend === "cpu" && opts.peer !== false) {
    const p = await loadOnnxPeer(threads);
    if ("unavailable" in p) notes.push(`peer skipped: ${p.unavailable}`);
    else peer = p;
  }
  const sync = () => backend.sync();
  const { matmul, attention } = plan(opts.backend, quick);
  try {
    for (const n of matmul) {
      const a = randomTensor(backend, [n, n]);
      const b = randomTensor(backend, [n, n]);
      const c = view(backend.createBuffer(n * n, "f32"), [n, n]);
      const seconds = await timeOp(() => backend.matmul(c, a, b), sync, timing);
      const flops = 2 * n ** 3;
      const op = opts.tensorCores ? "matmul-f16tc" : "matmul";
      emit({ op, backend: opts.backend, shape: [n, n, n], seconds, gflops: flops / seconds / 1e9 });
      for (const t of [a, b, c]) backend.destroyBuffer(t.buffer);
      if (peer) {
        const mm = await peer.prepare(n, n, n);
        const ps = await timeOp(
          () => mm.run(),
          async () => undefined,
          timing,
        );
        await mm.release();
        emit({
          op: "matmul",
          backend: opts.backend,
          shape: [n, n, n],
          seconds: ps,
          gflops: flops / ps / 1e9,
          peer: peer.name,
        });
      }
    }
    for (const shape of attention) {
      const [bsz, t, s, h, hkv, d] = shape;
      const q = randomTensor(backend, [bsz, t, h, d]);
      const k = randomTensor(backend, [bsz, s, hkv, d]);
      const v = randomTensor(backend, [bsz, s, hkv, d]);
      const dOut = randomTensor(backend, [bsz, t, h, d]);
      const out = view(backend.createBuffer(bsz * t * h * d, "f32"), [bsz, t, h, d]);
      const dq = view(backend.createBuffer(bsz * t * h * d, "f32"), [bsz, t, h, d]);
      const dk = view(backend.createBuffer(bsz * s * hkv * d, "f32"), [bsz, s, hkv, d]);
      const dv = view(backend.createBuffer(bsz * s * hkv * d, "f32"), [bsz, s, hkv, d]);
      const lse = view(backend.createBuffer(bsz * h * t, "f32"), [bsz, h, t]);
      const o = { causal: true };
      const fwdFlops = 4 * bsz * h * d * causalPairs(t, s);
      const fs = await timeOp(() => backend.attention(out, lse, q, k, v, o), sync, timing);
      // decode (T = 1) is memory-bound: report the K/V bytes it streams per second too
      const kvBytes = 2 * bsz * s * hkv * d * 4;
      const gbps = t === 1 ? { gbps: kvBytes / fs / 1e9 } : {};
      emit({
        op: "attention",
        backend: opts.backend,
        shape,
        seconds: fs,
        gflops: fwdFlops / fs / 1e9,
        ...gbps,
      });
      if (t > 1) {
        const run = () => backend.attentionBackward(dq, dk, dv, dOut, q, k, v, out, lse, o);
        const bs = await timeOp(run, sync, timing);
        // the usual count: backward = 2.5x forward (5 matmuls of the tile instead of 2)
        emit({
          op: "attentionBackward",
          backend: opts.backend,
          shape,
          seconds: bs,
          gflops: (2.5 * fwdFlops) / bs / 1e9,
        });
      }
      for (const x of [q, k, v, dOut, out, dq, dk, dv, lse]) backend.destroyBuffer(x.buffer);
    }
    if (opts.backend === "webgpu")
      await streamingOpRows(backend, quick ? QUICK_SHAPE : TRAIN_30M, timing, emit);
  } finally {
    backend.dispose();
  }
  notes.push("attention shapes are [B, T, S, H, Hkv, D], causal; backward flops counted as 2.5x forward");
  notes.push(idleNote(idleBefore));
  return { device: info.device, detail: info.detail, ...(ceiling ? { ceiling } : {}), rows, notes };
}
