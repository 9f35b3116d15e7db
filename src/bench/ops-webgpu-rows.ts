// Bench rows for the memory-bound training ops outside matmul/attention: embeddingBackward,
// crossEntropy forward/backward, rmsnormBackward, sumSquares and adamw, timed through the Backend
// interface at the ~30M training config (N 16384, C 512, V 8192, 30M parameters; --quick: small).
// GB/s counts the bytes each op must move (see the op files' headers), so it compares to the
// device's memory bandwidth. Rows only; ops-bench.ts runs them for the webgpu backend.
import type { Backend } from "../backend/backend.js";
import { type Tensor, view } from "../backend/tensor.js";
import type { BenchRow } from "./ops-bench.js";
import { type TimingOptions, timeOp } from "./timing.js";

export interface StreamingShape {
  n: number;
  c: number;
  v: number;
  params: number;
}

export const TRAIN_30M: StreamingShape = { n: 16384, c: 512, v: 8192, params: 30_000_000 };
export const QUICK_SHAPE: StreamingShape = { n: 1024, c: 128, v: 2048, params: 1_000_000 };

function tensor(
  b: Backend,
  shape: number[],
  fill: (i: number) => number,
  dtype: "f32" | "i32" = "f32",
): Tensor {
  const n = shape.reduce((x, y) => x * y, 1);
  const t = view(b.createBuffer(n, dtype), shape);
  b.write(
    t,
    dtype === "i32"
      ? Int32Array.from({ length: n }, (_, i) => fill(i))
      : Float32Array.from({ length: n }, (_, i) => fill(i)),
  );
  return t;
}

/** Times each op at `s`; `emit` gets one row per op. Frees what it allocates. */
export async function streamingOpRows(
  b: Backend,
  s: StreamingShape,
  timing: TimingOptions,
  emit: (row: BenchRow) => void,
): Promise<void> {
  const { n, c, v, params } = s;
  const rnd = () => Math.random() - 0.5;
  // Zipf-like ids: a few very frequent tokens, like text.
  const ids = tensor(b, [n], () => Math.min(v - 1, Math.floor(v ** Math.random()) - 1), "i32");
  const x = tensor(b, [n, c], rnd);
  const dOut = tensor(b, [n, c], rnd);
  const dx = tensor(b, [n, c], () => 0);
  const w = tensor(b, [c], () => 1);
  const dW = tensor(b, [c], () => 0);
  const rstd = tensor(b, [n], () => 1);
  const table = tensor(b, [v, c], () => 0);
  const logits = tensor(b, [n, v], () => 4 * rnd());
  const dLogits = view(b.createBuffer(n * v, "f32"), [n, v]);
  const losses = view(b.createBuffer(n, "f32"), [n]);
  const targets = tensor(b, [n], (i) => (i * 7919) % v, "i32");
  const p = tensor(b, [params], rnd);
  const g = tensor(b, [params], rnd);
  const m = tensor(b, [params], () => 0);
  const vv = tensor(b, [params], () => 0);
  const ss = view(b.createBuffer(1, "f32"), [1]);
  const f4 = 4;
  const cases: [string, number[], number, () => void][] = [
    [
      "embeddingBackward",
      [n, c, v],
      f4 * (n * c + 2 * Math.min(n, v) * c),
      () => b.embeddingBackward(table, dOut, ids),
    ],
    ["crossEntropy", [n, v], f4 * n * v, () => b.crossEntropy(losses, logits, targets)],
    [
      "crossEntropy+Bwd",
      [n, v],
      f4 * 3 * n * v,
      () => {
        b.crossEntropy(losses, logits, targets);
        b.crossEntropyBackward(dLogits, logits, targets, 1 / n);
      },
    ],
    ["rmsnormBackward", [n, c], f4 * 4 * n * c, () => b.rmsnormBackward(dx, dW, dOut, x, w, rstd, true)],
    ["sumSquares", [params], f4 * params, () => b.sumSquares(ss, [g])],
    [
      "adamw",
      [params],
      f4 * 7 * params,
      () => b.adamw(p, g, m, vv, { lr: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 1 }),
    ],
  ];
  try {
    for (const [op, shape, bytes, run] of cases) {
      const seconds = await timeOp(run, () => b.sync(), timing);
      emit({ op, backend: b.name, shape, seconds, gflops: 0, gbps: bytes / seconds / 1e9 });
    }
  } finally {
    for (const t of [
      ids,
      x,
      dOut,
      dx,
      w,
      dW,
      rstd,
      table,
      logits,
      dLogits,
      losses,
      targets,
      p,
      g,
      m,
      vv,
      ss,
    ]) {
      b.destroyBuffer(t.buffer);
    }
  }
}
