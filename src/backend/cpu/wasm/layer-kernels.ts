// The wasm kernels of the non-GEMM layer ops (cross entropy, SwiGLU, RMSNorm, RoPE, AdamW, sum of
// squares, add/scale, and an exp probe for tests): parameter types and the JS side of each job. Operands are
// BYTE offsets of contiguous f32 (i32 for targets/positions) arrays in the shared memory; work
// buffers (lse, partials, rope tables) are passed in by the caller, never allocated here.

/** Launches job `fn` (an index into LAYER_FNS offset by `base`) with `work` flops of effort. */
export type Launch = (fn: number, args: number[], work: number) => void;

/** Job exports of the layer kernels, in the order the pool indexes them (after the GEMM jobs). */
export const LAYER_FNS = [
  "crossEntropyJob",
  "crossEntropyBackwardJob",
  "swigluJob",
  "swigluBackwardJob",
  "rmsnormJob",
  "rmsnormBackwardJob",
  "ropeJob",
  "adamwJob",
  "sumSquaresJob",
  "expProbeJob",
  "elementwiseJob",
] as const;

export interface WasmRows {
  /** Rows N. */
  n: number;
}

/** losses (N) = logsumexp - logits[t] (0 for t = -1); lse (N) gets every row's logsumexp. */
export interface WasmCrossEntropyParams extends WasmRows {
  logits: number;
  targets: number;
  losses: number;
  lse: number;
  v: number;
}

/** dLogits (N, V) = scale * (softmax - onehot); lse from the forward when haveLse, else recomputed. */
export interface WasmCrossEntropyBackwardParams extends WasmRows {
  dLogits: number;
  logits: number;
  targets: number;
  lse: number;
  haveLse: boolean;
  v: number;
  scale: number;
}

/** gu (N, 2F) = [gate | up] -> out (N, F) = silu(gate) * up. */
export interface WasmSwigluParams extends WasmRows {
  out: number;
  gu: number;
  f: number;
}

/** dGu (N, 2F) from dOut (N, F) and gu (overwrites). */
export interface WasmSwigluBackwardParams extends WasmRows {
  dGu: number;
  dOut: number;
  gu: number;
  f: number;
}

export interface WasmRmsnormParams extends WasmRows {
  out: number;
  rstd: number;
  x: number;
  weight: number;
  c: number;
  eps: number;
}

/** dx (N, C) = (or += when accumulate); dWeight (C) += (summed from per-item partials). */
export interface WasmRmsnormBackwardParams extends WasmRows {
  dx: number;
  dWeight: number;
  dOut: number;
  x: number;
  weight: number;
  rstd: number;
  c: number;
  accumulate: boolean;
  /** rmsnormPartialsBytes(n, c) bytes of work space. */
  partials: number;
}

/** x, out (N, heads, D); positions (N) i32; cosT, sinT (P, D/2) with P above every position. */
export interface WasmRopeParams extends WasmRows {
  out: number;
  x: number;
  positions: number;
  cosT: number;
  sinT: number;
  heads: number;
  d: number;
  inverse: boolean;
}

/** One AdamW step over n elements (gradMul = gradScale x clip factor). */
export interface WasmAdamwParams {
  param: number;
  grad: number;
  m: number;
  v: number;
  n: number;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  gradMul: number;
  step: number;
}

export interface LayerKernels {
  crossEntropy(p: WasmCrossEntropyParams): void;
  crossEntropyBackward(p: WasmCrossEntropyBackwardParams): void;
  swiglu(p: WasmSwigluParams): void;
  swigluBackward(p: WasmSwigluBackwardParams): void;
  rmsnorm(p: WasmRmsnormParams): void;
  rmsnormBackward(p: WasmRmsnormBackwardParams): void;
  /** Bytes of work space rmsnormBackward needs for n rows of c. */
  rmsnormPartialsBytes(n: number, c: number): number;
  rope(p: WasmRopeParams): void;
  adamw(p: WasmAdamwParams): void;
  /** Sum of squares of n floats at x (f64 partials per chunk, added in order); `partials`: work space. */
  sumSquares(p: { x: number; n: number; partials: number }): number;
  /** Bytes of work space sumSquares needs for n floats. */
  sumSquaresPartialsBytes(n: number): number;
  /** out = e^x for n floats (the kernels' vector exp; for tests). */
  exp(p: { x: number; out: number; n: number }): void;
  /** out = alpha * a + beta * b over n floats (out may alias a or b). */
  add(p: { out: number; a: number; b: number; n: number; alpha: number; beta: number }): void;
  /** out = alpha * x over n floats (out may alias x). */
  scale(p: { out: number; x: number; n: number; alpha: number }): void;
}

/** The JS side of the layer jobs; `fn0` is the pool index of LAYER_FNS[0]. */
export function makeLayerKernels(opts: {
  launch: Launch;
  fn0: number;
  memory: WebAssembly.Memory;
  exports: WebAssembly.Exports;
}): LayerKernels {
  const { launch, memory } = opts;
  const fn = (name: (typeof LAYER_FNS)[number]) => opts.fn0 + LAYER_FNS.indexOf(name);
  const global = (name: string) => (opts.exports[name] as WebAssembly.Global).value as number;
  const normRows = global("NORM_ROWS");
  const chunk = global("OPTIM_CHUNK");
  const cdiv = (a: number, b: number) => Math.ceil(a / b);
  return {
    crossEntropy(p) {
      launch(fn("crossEntropyJob"), [p.logits, p.targets, p.losses, p.lse, p.n, p.v], 24 * p.n * p.v);
    },
    crossEntropyBackward(p) {
      const args = [p.dLogits, p.logits, p.targets, p.lse, p.n, p.v, p.scale, p.haveLse ? 1 : 0];
      launch(fn("crossEntropyBackwardJob"), args, (p.haveLse ? 20 : 44) * p.n * p.v);
    },
    swiglu(p) {
      launch(fn("swigluJob"), [p.out, p.gu, p.n, p.f], 30 * p.n * p.f);
    },
    swigluBackward(p) {
      launch(fn("swigluBackwardJob"), [p.dGu, p.dOut, p.gu, p.n, p.f], 36 * p.n * p.f);
    },
    rmsnorm(p) {
      launch(fn("rmsnormJob"), [p.out, p.rstd, p.x, p.weight, p.n, p.c, p.eps], 5 * p.n * p.c);
    },
    rmsnormBackward(p) {
      const args = [p.dx, p.partials, p.dOut, p.x, p.weight, p.rstd, p.n, p.c, p.accumulate ? 1 : 0];
      launch(fn("rmsnormBackwardJob"), args, 10 * p.n * p.c);
      // dWeight += the item partials, added in item order (independent of the thread count)
      const items = cdiv(p.n, normRows);
      const part = new Float32Array(memory.buffer, p.partials, items * p.c);
      const dw = new Float32Array(memory.buffer, p.dWeight, p.c);
      for (let j = 0; j < p.c; j++) {
        let s = 0;
        for (let i = 0; i < items; i++) s += part[i * p.c + j]!;
        dw[j]! += s;
      }
    },
    rmsnormPartialsBytes: (n, c) => cdiv(n, normRows) * c * 4,
    rope(p) {
      const args = [p.out, p.x, p.positions, p.cosT, p.sinT, p.n, p.heads, p.d, p.inverse ? 1 : 0];
      launch(fn("ropeJob"), args, 3 * p.n * p.heads * p.d);
    },
    adamw(p) {
      const args = [
        p.param,
        p.grad,
        p.m,
        p.v,
        p.n,
        p.lr,
        p.beta1,
        p.beta2,
        1 - p.beta1,
        1 - p.beta2,
        p.eps,
        p.weightDecay,
        p.gradMul,
        1 / (1 - p.beta1 ** p.step),
        1 / (1 - p.beta2 ** p.step),
      ];
      launch(fn("adamwJob"), args, 20 * p.n);
    },
    sumSquares(p) {
      launch(fn("sumSquaresJob"), [p.x, p.partials, p.n], 2 * p.n);
      const part = new Float64Array(memory.buffer, p.partials, cdiv(p.n, chunk));
      let s = 0;
      for (const x of part) s += x;
      return s;
    },
    sumSquaresPartialsBytes: (n) => cdiv(n, chunk) * 8,
    exp(p) {
      launch(fn("expProbeJob"), [p.x, p.out, p.n], 0);
    },
    add(p) {
      launch(fn("elementwiseJob"), [0, p.out, p.a, p.b, p.n, p.alpha, p.beta], 3 * p.n);
    },
    scale(p) {
      launch(fn("elementwiseJob"), [1, p.out, p.x, p.x, p.n, p.alpha, 0], 2 * p.n);
    },
  };
}
