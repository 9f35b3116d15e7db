// Shape and dtype validation shared by every backend (cpu, webgpu) for the non-attention ops: pure
// functions that throw ShapeError naming the op and the argument, and return the dims the kernels
// need. Leading dims may be split (x (B, T, C) for an (N, C) argument). They never read tensor
// values (id ranges are the CPU's own check) and never allocate. Attention/paged: op-shapes-attention.ts.
import { ShapeError } from "../errors.js";
import type { AdamWOptions, MatmulOptions } from "./backend.js";
import type { MatmulArgs } from "./reference/matmul.js";
import { expectDType, expectShape, numel, sameShape, type Tensor } from "./tensor.js";

/** Splits t into rows of its last dim: (N, C) with N = product of the leading dims. */
export function rowsOf(what: string, t: Tensor): { n: number; c: number } {
  if (t.shape.length < 2) throw new ShapeError(`${what} must have at least 2 dims (N, C), got [${t.shape}]`);
  const c = t.shape[t.shape.length - 1]!;
  return { n: numel(t.shape.slice(0, -1)), c };
}

/** Throws unless t has exactly n elements. */
export function expectNumel(what: string, t: Tensor, n: number, hint = ""): void {
  if (numel(t.shape) !== n) {
    throw new ShapeError(`${what} must have ${n} elements${hint}, got shape [${t.shape}]`);
  }
}

/** Throws unless every tensor of `ts` is f32, naming it `${op} ${key}`. */
export function expectF32(op: string, ts: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(ts)) expectDType(`${op} ${name}`, t, "f32");
}

export type MatmulDims = Omit<MatmulArgs, "out" | "a" | "b"> & {
  /** b is 2-D and shared by every batch entry (strideB 0). */
  bShared: boolean;
};

/** out (.., M, N) = alpha * op(a) (.., M, K) @ op(b) (K, N) or (.., K, N); a, out f32, b f32/f16/bf16. */
export function matmulDims(out: Tensor, a: Tensor, b: Tensor, opts: MatmulOptions = {}): MatmulDims {
  expectDType("matmul out", out, "f32");
  expectDType("matmul a", a, "f32");
  expectDType("matmul b", b, "f32", "f16", "bf16");
  if (a.shape.length < 2) throw new ShapeError(`matmul a must have at least 2 dims, got [${a.shape}]`);
  const lead = a.shape.slice(0, -2);
  const [a0, a1] = a.shape.slice(-2) as [number, number];
  const transA = opts.transA ?? false;
  const transB = opts.transB ?? false;
  const [m, k] = transA ? [a1, a0] : [a0, a1];
  const batch = numel(lead);
  let broadcast: boolean;
  if (b.shape.length === 2) broadcast = true;
  else if (b.shape.length === a.shape.length && sameShape(b.shape.slice(0, -2), lead)) broadcast = false;
  else {
    throw new ShapeError(
      `matmul b [${b.shape}] must be 2-D (a broadcast weight) or batched like a [${a.shape}] with leading dims [${lead}]`,
    );
  }
  const [b0, b1] = b.shape.slice(-2) as [number, number];
  const [bk, n] = transB ? [b1, b0] : [b0, b1];
  if (bk !== k) {
    throw new ShapeError(
      `matmul inner dims differ: op(a) [${a.shape}]${transA ? "^T" : ""} has K=${k}, op(b) [${b.shape}]${transB ? "^T" : ""} has K=${bk}`,
    );
  }
  expectShape("matmul out", out, [...lead, m, n]);
  return {
    m,
    n,
    k,
    batch,
    strideA: m * k,
    strideB: broadcast ? 0 : k * n,
    strideC: m * n,
    transA,
    transB,
    alpha: opts.alpha ?? 1,
    accumulate: opts.accumulate ?? false,
    bShared: broadcast,
  };
}

/** out (N, C) f32 = table (V, C) f32/f16/bf16 [ids (N) i32]. Returns N, V, C (ids not read). */
export function embeddingDims(out: Tensor, table: Tensor, ids: Tensor): { n: number; v: number; c: number } {
  if (table.shape.length !== 2) throw new ShapeError(`embedding table must be (V, C), got [${table.shape}]`);
  const [v, c] = table.shape as [number, number];
  expectDType("embedding table", table, "f32", "f16", "bf16");
  expectDType("embedding out", out, "f32");
  const n = numel(ids.shape);
  expectShape("embedding out", out, [n, c]);
  expectDType("embedding ids", ids, "i32");
  return { n, v, c };
}

/** dTable (V, C) f32 += scatter of dOut (N, C) f32 by ids (N) i32. Returns N, V, C. */
export function embeddingBackwardDims(
  dTable: Tensor,
  dOut: Tensor,
  ids: Tensor,
): { n: number; v: number; c: number } {
  expectF32("embeddingBackward", { dTable, dOut });
  if (dTable.shape.length !== 2)
    throw new ShapeError(`embeddingBackward dTable must be (V, C), got [${dTable.shape}]`);
  const [v, c] = dTable.shape as [number, number];
  const n = numel(ids.shape);
  expectShape("embeddingBackward dOut", dOut, [n, c]);
  expectDType("embeddingBackward ids", ids, "i32");
  return { n, v, c };
}

/** x, out (N, C), weight (C), rstd (N), all f32. */
export function rmsnormDims(io: { out: Tensor; rstd: Tensor; x: Tensor; weight: Tensor }): {
  n: number;
  c: number;
} {
  expectF32("rmsnorm", io);
  const { n, c } = rowsOf("rmsnorm x", io.x);
  expectShape("rmsnorm out", io.out, io.x.shape);
  expectShape("rmsnorm weight", io.weight, [c]);
  expectNumel("rmsnorm rstd", io.rstd, n, " (one per row of x)");
  return { n, c };
}

/** dx, dOut, x (N, C), weight, dWeight (C), rstd (N), all f32. */
export function rmsnormBackwardDims(
  io: Record<"dx" | "dWeight" | "dOut" | "x" | "weight" | "rstd", Tensor>,
): {
  n: number;
  c: number;
} {
  expectF32("rmsnormBackward", io);
  const { n, c } = rowsOf("rmsnormBackward x", io.x);
  expectShape("rmsnormBackward dx", io.dx, io.x.shape);
  expectShape("rmsnormBackward dOut", io.dOut, io.x.shape);
  expectShape("rmsnormBackward weight", io.weight, [c]);
  expectShape("rmsnormBackward dWeight", io.dWeight, [c]);
  expectNumel("rmsnormBackward rstd", io.rstd, n, " (one per row of x)");
  return { n, c };
}

/** x, out (N, Hx, D) f32 with D even, positions (N) i32. */
export function ropeDims(out: Tensor, x: Tensor, positions: Tensor): { n: number; heads: number; d: number } {
  expectF32("rope", { out, x });
  if (x.shape.length < 3) throw new ShapeError(`rope x must be (N, Hx, D), got [${x.shape}]`);
  const d = x.shape[x.shape.length - 1]!;
  const heads = x.shape[x.shape.length - 2]!;
  if (d % 2 !== 0) throw new ShapeError(`rope head dim D=${d} (x [${x.shape}]) must be even`);
  expectShape("rope out", out, x.shape);
  const n = numel(x.shape.slice(0, -2));
  expectDType("rope positions", positions, "i32");
  expectNumel("rope positions", positions, n, " (one per row of x)");
  return { n, heads, d };
}

/** gu (N, 2F) = [gate | up] and out (N, F), f32 (the forward's out). */
export function swigluDims(out: Tensor, gu: Tensor): { n: number; f: number } {
  return gluDims("swiglu", { out }, gu);
}

/** dGu, gu (N, 2F) and dOut (N, F), f32. */
export function swigluBackwardDims(dGu: Tensor, dOut: Tensor, gu: Tensor): { n: number; f: number } {
  expectDType("swigluBackward dGu", dGu, "f32");
  const dims = gluDims("swigluBackward", { dOut }, gu);
  expectShape("swigluBackward dGu", dGu, gu.shape);
  return dims;
}

function gluDims(op: string, half: Record<string, Tensor>, gu: Tensor): { n: number; f: number } {
  const [name, t] = Object.entries(half)[0] as [string, Tensor];
  expectF32(op, { [name]: t, gu });
  const { n, c } = rowsOf(`${op} gu`, gu);
  if (c % 2 !== 0) throw new ShapeError(`${op} gu last dim ${c} must be even ([gate | up], 2F)`);
  expectShape(`${op} ${name}`, t, [...gu.shape.slice(0, -1), c / 2]);
  return { n, f: c / 2 };
}

/** logits (N, V) f32, targets (N) i32 (values not read). */
function lossDims(op: string, logits: Tensor, targets: Tensor): { n: number; v: number } {
  expectDType(`${op} logits`, logits, "f32");
  expectDType(`${op} targets`, targets, "i32");
  const { n, c: v } = rowsOf(`${op} logits`, logits);
  expectNumel(`${op} targets`, targets, n, " (one per row of logits)");
  return { n, v };
}

/** losses (N) f32 from logits (N, V) f32 and targets (N) i32. */
export function crossEntropyDims(losses: Tensor, logits: Tensor, targets: Tensor): { n: number; v: number } {
  expectDType("crossEntropy losses", losses, "f32");
  const dims = lossDims("crossEntropy", logits, targets);
  expectNumel("crossEntropy losses", losses, dims.n, " (one per row of logits)");
  return dims;
}

/** dLogits like logits (N, V) f32, targets (N) i32. */
export function crossEntropyBackwardDims(
  dLogits: Tensor,
  logits: Tensor,
  targets: Tensor,
): { n: number; v: number } {
  expectDType("crossEntropyBackward dLogits", dLogits, "f32");
  const dims = lossDims("crossEntropyBackward", logits, targets);
  expectShape("crossEntropyBackward dLogits", dLogits, logits.shape);
  return dims;
}

/** out (1) f32, every xs[i] f32 (any shape). */
export function checkSumSquares(out: Tensor, xs: readonly Tensor[]): void {
  expectDType("sumSquares out", out, "f32");
  expectNumel("sumSquares out", out, 1);
  xs.forEach((x, i) => {
    expectDType(`sumSquares xs[${i}]`, x, "f32");
  });
}

/** param, grad, m, v f32 of equal numel; clip.sumSq (1) f32. Returns the numel N. */
export function adamwNumel(t: Record<"param" | "grad" | "m" | "v", Tensor>, opts: AdamWOptions): number {
  expectF32("adamw", t);
  const n = numel(t.param.shape);
  for (const name of ["grad", "m", "v"] as const) {
    expectNumel(`adamw ${name}`, t[name], n, ` like param [${t.param.shape}]`);
  }
  if (opts.clip) {
    expectDType("adamw clip.sumSq", opts.clip.sumSq, "f32");
    expectNumel("adamw clip.sumSq", opts.clip.sumSq, 1);
  }
  return n;
}
