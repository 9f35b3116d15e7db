// Start-up check of the wasm layer kernels (cross entropy, SwiGLU, RMSNorm, RoPE, AdamW + sum of
// squares, add/scale): each runs once on a tiny problem with odd sizes (SIMD tails), ignored rows
// and accumulation, against the reference kernels. An op that throws or disagrees is not used.
import { adamwRef } from "../reference/adamw.js";
import { crossEntropyBackwardRef, crossEntropyRef } from "../reference/cross-entropy.js";
import { addRef, scaleRef, sumSquaresRef } from "../reference/elementwise.js";
import { rmsnormBackwardRef, rmsnormRef } from "../reference/rmsnorm.js";
import { ropeRef } from "../reference/rope.js";
import { swigluBackwardRef, swigluRef } from "../reference/swiglu.js";
import { close, data, type Scratch, span, tryOp } from "./selftest-scratch.js";
import type { WasmKernels } from "./wasm/index.js";

const nans = (n: number) => new Float32Array(n).fill(Number.NaN);

function crossEntropy(k: WasmKernels, s: Scratch): boolean {
  const [n, v] = [3, 37];
  const logits = data(n * v, 7).map((x) => 4 * x);
  const targets = new Int32Array([5, -1, 36]);
  const want = { losses: new Float32Array(n), d: new Float32Array(n * v) };
  const ints = { data: targets, off: 0 };
  crossEntropyRef({ losses: span(want.losses), logits: span(logits), targets: ints, n, v });
  crossEntropyBackwardRef({ dLogits: span(want.d), logits: span(logits), targets: ints, n, v, scale: 0.3 });
  const io = { logits: s.put(logits), targets: s.putInts(targets) };
  const [losses, lse, d1, d2] = [s.put(nans(n)), s.put(nans(n)), s.put(nans(n * v)), s.put(nans(n * v))];
  k.crossEntropy({ ...io, losses, lse, n, v });
  k.crossEntropyBackward({ ...io, dLogits: d1, lse, haveLse: true, n, v, scale: 0.3 });
  k.crossEntropyBackward({ ...io, dLogits: d2, lse: 0, haveLse: false, n, v, scale: 0.3 });
  return (
    close(s.read(losses, n), want.losses) &&
    close(s.read(d1, n * v), want.d) &&
    close(s.read(d2, n * v), want.d)
  );
}

function swiglu(k: WasmKernels, s: Scratch): boolean {
  const [n, f] = [2, 7];
  const gu = data(n * 2 * f, 8).map((x) => 6 * x);
  const dOut = data(n * f, 9);
  const want = { out: new Float32Array(n * f), dGu: new Float32Array(2 * n * f) };
  swigluRef({ out: span(want.out), gu: span(gu), n, f });
  swigluBackwardRef({ dGu: span(want.dGu), dOut: span(dOut), gu: span(gu), n, f });
  const [out, dGu, guP] = [s.put(nans(n * f)), s.put(nans(2 * n * f)), s.put(gu)];
  k.swiglu({ out, gu: guP, n, f });
  k.swigluBackward({ dGu, dOut: s.put(dOut), gu: guP, n, f });
  return close(s.read(out, n * f), want.out) && close(s.read(dGu, 2 * n * f), want.dGu);
}

function rmsnorm(k: WasmKernels, s: Scratch): boolean {
  const [n, c] = [3, 9];
  const [x, weight, dOut, dx0, dw0] = [
    data(n * c, 10),
    data(c, 11),
    data(n * c, 12),
    data(n * c, 13),
    data(c, 14),
  ];
  const want = { out: new Float32Array(n * c), rstd: new Float32Array(n), dx: dx0.slice(), dw: dw0.slice() };
  rmsnormRef({
    out: span(want.out),
    rstd: span(want.rstd),
    x: span(x),
    weight: span(weight),
    n,
    c,
    eps: 1e-5,
  });
  const ins = { dOut: span(dOut), x: span(x), weight: span(weight), rstd: span(want.rstd) };
  rmsnormBackwardRef({ ...ins, dx: span(want.dx), dWeight: span(want.dw), n, c, accumulate: true });
  const p = { x: s.put(x), weight: s.put(weight), out: s.put(nans(n * c)), rstd: s.put(nans(n)) };
  k.rmsnorm({ ...p, n, c, eps: 1e-5 });
  const [dx, dWeight, partials] = [s.put(dx0), s.put(dw0), s.put(nans(k.rmsnormPartialsBytes(n, c) / 4))];
  const bp = { x: p.x, weight: p.weight, rstd: p.rstd, dOut: s.put(dOut), partials };
  k.rmsnormBackward({ ...bp, dx, dWeight, n, c, accumulate: true });
  return (
    close(s.read(p.out, n * c), want.out) &&
    close(s.read(p.rstd, n), want.rstd) &&
    close(s.read(dx, n * c), want.dx) &&
    close(s.read(dWeight, c), want.dw)
  );
}

function rope(k: WasmKernels, s: Scratch): boolean {
  const [n, heads, d, base] = [2, 3, 10, 100];
  const half = d / 2;
  const positions = new Int32Array([3, 0]);
  const x = data(n * heads * d, 15);
  const want = new Float32Array(x.length);
  ropeRef({
    out: span(want),
    x: span(x),
    positions: { data: positions, off: 0 },
    n,
    heads,
    d,
    base,
    inverse: true,
  });
  const [cos, sin] = [new Float32Array(4 * half), new Float32Array(4 * half)];
  for (let p = 0; p < 4; p++) {
    for (let i = 0; i < half; i++) {
      cos[p * half + i] = Math.cos(p * base ** ((-2 * i) / d));
      sin[p * half + i] = Math.sin(p * base ** ((-2 * i) / d));
    }
  }
  const out = s.put(nans(x.length));
  const io = { x: s.put(x), positions: s.putInts(positions), cosT: s.put(cos), sinT: s.put(sin) };
  k.rope({ ...io, out, n, heads, d, inverse: true });
  return close(s.read(out, x.length), want);
}

function adamw(k: WasmKernels, s: Scratch): boolean {
  const n = 11;
  const [param, grad, m] = [data(n, 16), data(n, 17), data(n, 18)];
  const v = data(n, 19).map(Math.abs);
  const opts = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 3, gradMul: 0.7 };
  const want = { param: param.slice(), m: m.slice(), v: v.slice() };
  adamwRef({ ...opts, param: span(want.param), grad: span(grad), m: span(want.m), v: span(want.v), n });
  const p = { param: s.put(param), grad: s.put(grad), m: s.put(m), v: s.put(v) };
  k.adamw({ ...p, ...opts, n });
  const partials = s.put(nans(k.sumSquaresPartialsBytes(n) / 4));
  const ss = k.sumSquares({ x: p.grad, n, partials });
  return (
    close(new Float32Array([ss]), new Float32Array([sumSquaresRef(span(grad), n)])) &&
    close(s.read(p.param, n), want.param) &&
    close(s.read(p.m, n), want.m) &&
    close(s.read(p.v, n), want.v)
  );
}

function elementwise(k: WasmKernels, s: Scratch): boolean {
  const n = 13;
  const [a, b] = [data(n, 20), data(n, 21)];
  const want = { add: new Float32Array(n), scale: new Float32Array(n) };
  addRef(span(want.add), span(a), span(b), { n, alpha: 0.5, beta: -2 });
  scaleRef(span(want.scale), span(a), n, 3);
  const [ap, bp, sum, scaled] = [s.put(a), s.put(b), s.put(nans(n)), s.put(nans(n))];
  k.add({ out: sum, a: ap, b: bp, n, alpha: 0.5, beta: -2 });
  k.scale({ out: scaled, x: ap, n, alpha: 3 });
  return close(s.read(sum, n), want.add) && close(s.read(scaled, n), want.scale);
}

export function verifyLayerKernels(kernels: WasmKernels, s: Scratch) {
  return {
    crossEntropy: tryOp(() => crossEntropy(kernels, s)),
    swiglu: tryOp(() => swiglu(kernels, s)),
    rmsnorm: tryOp(() => rmsnorm(kernels, s)),
    rope: tryOp(() => rope(kernels, s)),
    adamw: tryOp(() => adamw(kernels, s)),
    elementwise: tryOp(() => elementwise(kernels, s)),
  };
}
