// The wasm layer kernels (vector exp, cross entropy, SwiGLU, RMSNorm, RoPE, AdamW, sum of squares,
// add/scale) against the f64 reference kernels at shapes large enough to run on 2 threads, with
// odd sizes (SIMD tails), ignored rows, accumulation and aliasing; results bitwise equal on 1 and
// 2 threads; guard bands around every output untouched.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { adamwRef } from "../../src/backend/reference/adamw.js";
import { crossEntropyBackwardRef, crossEntropyRef } from "../../src/backend/reference/cross-entropy.js";
import { addRef, scaleRef, sumSquaresRef } from "../../src/backend/reference/elementwise.js";
import { rmsnormBackwardRef, rmsnormRef } from "../../src/backend/reference/rmsnorm.js";
import { ropeRef } from "../../src/backend/reference/rope.js";
import { swigluBackwardRef, swigluRef } from "../../src/backend/reference/swiglu.js";
import type { Span } from "../../src/backend/reference/types.js";
import { type Harness, makeHarness, randomArray, relError } from "./wasm-harness.js";

let h1: Harness;
let h2: Harness;
before(async () => {
  h1 = await makeHarness(1);
  h2 = await makeHarness(2);
});
after(() => {
  h1.kernels.dispose();
  h2.kernels.dispose();
});

const f64 = (x: Float32Array): Span => ({ data: Float64Array.from(x), off: 0 });
const put = (h: Harness, x: Float32Array) => {
  const p = h.alloc(x.length);
  h.f32(p, x.length).set(x);
  return p;
};
const putInts = (h: Harness, x: Int32Array) => {
  const p = h.alloc(x.length);
  new Int32Array(h.memory.buffer, p, x.length).set(x);
  return p;
};
const nanBlock = (h: Harness, n: number) => put(h, new Float32Array(n).fill(Number.NaN));

/** Runs `run` on both harnesses; returns the named outputs of each (copied) after checking guards. */
function onBoth(
  run: (h: Harness) => Record<string, { ptr: number; n: number }>,
): [Record<string, Float32Array>, Record<string, Float32Array>] {
  const res = [h1, h2].map((h) => {
    h.reset();
    const outs = run(h);
    h.checkGuards();
    return Object.fromEntries(Object.entries(outs).map(([k, o]) => [k, h.f32(o.ptr, o.n).slice()]));
  });
  return [res[0]!, res[1]!];
}

function expectMatches(
  what: string,
  got: [Record<string, Float32Array>, Record<string, Float32Array>],
  want: Record<string, Float64Array>,
  tol: number,
): void {
  for (const [k, ref] of Object.entries(want)) {
    const e = relError(got[1][k]!, ref);
    assert.ok(e <= tol, `${what} ${k}: relative error ${e.toExponential(2)} > ${tol}`);
    assert.deepEqual(got[1][k], got[0][k], `${what} ${k}: 1 and 2 threads differ`);
  }
}

test("vector exp: relative error < 2e-7 against Math.exp on [-80, 88]; 0 below -80", () => {
  const n = 1 << 20;
  const x = new Float32Array(n + 4);
  for (let i = 0; i < n; i++) x[i] = -80 + (168 * i) / (n - 1);
  x.set([-80.5, -1000, Number.NEGATIVE_INFINITY, 0], n);
  h1.reset();
  const xp = put(h1, x);
  const out = nanBlock(h1, x.length);
  h1.kernels.exp({ x: xp, out, n: x.length });
  h1.checkGuards();
  const y = h1.f32(out, x.length);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const want = Math.exp(x[i]!);
    worst = Math.max(worst, Math.abs(y[i]! - want) / want);
  }
  assert.ok(worst < 2e-7, `worst relative error ${worst.toExponential(3)}`);
  assert.deepEqual([...y.subarray(n)], [0, 0, 0, 1]);
});

test("crossEntropy forward and backward (saved and recomputed lse, in place) vs f64", () => {
  const [n, v] = [67, 1003];
  const logits = randomArray(n * v, 3).map((x) => 12 * x);
  const targets = new Int32Array(n).map((_, i) => (i % 5 === 2 ? -1 : (i * 7919) % v));
  const scale = 1 / n;
  const ints = { data: targets, off: 0 };
  const want = { losses: new Float64Array(n), dLogits: new Float64Array(n * v) };
  crossEntropyRef({ losses: { data: want.losses, off: 0 }, logits: f64(logits), targets: ints, n, v });
  const wantD = { data: want.dLogits, off: 0 };
  crossEntropyBackwardRef({ dLogits: wantD, logits: f64(logits), targets: ints, n, v, scale });
  const got = onBoth((h) => {
    const io = { logits: put(h, logits), targets: putInts(h, targets) };
    const [losses, lse, d1, d2] = [nanBlock(h, n), nanBlock(h, n), nanBlock(h, n * v), nanBlock(h, n * v)];
    h.kernels.crossEntropy({ ...io, losses, lse, n, v });
    h.kernels.crossEntropyBackward({ ...io, dLogits: d1, lse, haveLse: true, n, v, scale });
    h.kernels.crossEntropyBackward({ ...io, dLogits: d2, lse: 0, haveLse: false, n, v, scale });
    // in place: dLogits is the logits
    h.kernels.crossEntropyBackward({ ...io, dLogits: io.logits, lse, haveLse: true, n, v, scale });
    const all = { ptr: 0, n: n * v };
    return {
      losses: { ptr: losses, n },
      d1: { ...all, ptr: d1 },
      d2: { ...all, ptr: d2 },
      d3: { ...all, ptr: io.logits },
    };
  });
  expectMatches(
    "crossEntropy",
    got,
    { losses: want.losses, d1: want.dLogits, d2: want.dLogits, d3: want.dLogits },
    1e-5,
  );
});

test("swiglu forward and backward vs f64 (odd F)", () => {
  const [n, f] = [100, 131];
  const gu = randomArray(n * 2 * f, 5).map((x) => 30 * x); // reaches both sigmoid tails
  const dOut = randomArray(n * f, 6);
  const want = { out: new Float64Array(n * f), dGu: new Float64Array(2 * n * f) };
  swigluRef({ out: { data: want.out, off: 0 }, gu: f64(gu), n, f });
  swigluBackwardRef({ dGu: { data: want.dGu, off: 0 }, dOut: f64(dOut), gu: f64(gu), n, f });
  const got = onBoth((h) => {
    const [guP, out, dGu] = [put(h, gu), nanBlock(h, n * f), nanBlock(h, 2 * n * f)];
    h.kernels.swiglu({ out, gu: guP, n, f });
    h.kernels.swigluBackward({ dGu, dOut: put(h, dOut), gu: guP, n, f });
    return { out: { ptr: out, n: n * f }, dGu: { ptr: dGu, n: 2 * n * f } };
  });
  expectMatches("swiglu", got, want, 2e-6);
});

test("rmsnorm forward and backward (accumulate, dWeight +=) vs f64 (odd C)", () => {
  const [n, c] = [600, 131];
  const [x, weight, dOut] = [
    randomArray(n * c, 7).map((v) => 3 * v),
    randomArray(c, 8),
    randomArray(n * c, 9),
  ];
  const [dx0, dw0] = [randomArray(n * c, 10), randomArray(c, 11)];
  const want = {
    out: new Float64Array(n * c),
    rstd: new Float64Array(n),
    dx: Float64Array.from(dx0),
    dWeight: Float64Array.from(dw0),
  };
  const w = f64(weight);
  const eps = 1e-5;
  rmsnormRef({
    out: { data: want.out, off: 0 },
    rstd: { data: want.rstd, off: 0 },
    x: f64(x),
    weight: w,
    n,
    c,
    eps,
  });
  rmsnormBackwardRef({
    dx: { data: want.dx, off: 0 },
    dWeight: { data: want.dWeight, off: 0 },
    dOut: f64(dOut),
    x: f64(x),
    weight: w,
    rstd: { data: want.rstd, off: 0 },
    n,
    c,
    accumulate: true,
  });
  const got = onBoth((h) => {
    const p = { x: put(h, x), weight: put(h, weight), out: nanBlock(h, n * c), rstd: nanBlock(h, n) };
    h.kernels.rmsnorm({ ...p, n, c, eps });
    const [dx, dWeight] = [put(h, dx0), put(h, dw0)];
    const partials = h.alloc(h.kernels.rmsnormPartialsBytes(n, c) / 4);
    const ins = { dOut: put(h, dOut), x: p.x, weight: p.weight, rstd: p.rstd, partials };
    h.kernels.rmsnormBackward({ ...ins, dx, dWeight, n, c, accumulate: true });
    return {
      out: { ptr: p.out, n: n * c },
      rstd: { ptr: p.rstd, n },
      dx: { ptr: dx, n: n * c },
      dWeight: { ptr: dWeight, n: c },
    };
  });
  expectMatches("rmsnorm", got, want, 1e-5);
});

test("rope forward and inverse vs f64 (odd D/2, in place)", () => {
  const [n, heads, d, base] = [600, 4, 50, 10000];
  const half = d / 2;
  const positions = new Int32Array(n).map((_, i) => (i * 37) % 1000);
  const x = randomArray(n * heads * d, 12);
  const [cos, sin] = [new Float32Array(1000 * half), new Float32Array(1000 * half)];
  for (let p = 0; p < 1000; p++) {
    for (let i = 0; i < half; i++) {
      cos[p * half + i] = Math.cos(p * base ** ((-2 * i) / d));
      sin[p * half + i] = Math.sin(p * base ** ((-2 * i) / d));
    }
  }
  const pos = { data: positions, off: 0 };
  const want = { fwd: new Float64Array(x.length), inv: new Float64Array(x.length) };
  ropeRef({ out: { data: want.fwd, off: 0 }, x: f64(x), positions: pos, n, heads, d, base, inverse: false });
  ropeRef({ out: { data: want.inv, off: 0 }, x: f64(x), positions: pos, n, heads, d, base, inverse: true });
  const got = onBoth((h) => {
    const tabs = { positions: putInts(h, positions), cosT: put(h, cos), sinT: put(h, sin) };
    const [fwd, inv] = [nanBlock(h, x.length), put(h, x)];
    h.kernels.rope({ ...tabs, x: put(h, x), out: fwd, n, heads, d, inverse: false });
    h.kernels.rope({ ...tabs, x: inv, out: inv, n, heads, d, inverse: true });
    return { fwd: { ptr: fwd, n: x.length }, inv: { ptr: inv, n: x.length } };
  });
  expectMatches("rope", got, want, 1e-6);
});

test("adamw and sumSquares vs f64 (chunk and SIMD tails)", () => {
  const n = 150001;
  const [param, grad, m] = [randomArray(n, 13), randomArray(n, 14).map((g) => 3 * g), randomArray(n, 15)];
  const v = randomArray(n, 16).map(Math.abs);
  const opts = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 7, gradMul: 0.3 };
  const want = { param: Float64Array.from(param), m: Float64Array.from(m), v: Float64Array.from(v) };
  const spans = {
    param: { data: want.param, off: 0 },
    m: { data: want.m, off: 0 },
    v: { data: want.v, off: 0 },
  };
  adamwRef({ ...opts, ...spans, grad: f64(grad), n });
  const sums: number[] = [];
  const got = onBoth((h) => {
    const p = { param: put(h, param), grad: put(h, grad), m: put(h, m), v: put(h, v) };
    const partials = h.alloc(h.kernels.sumSquaresPartialsBytes(n) / 4);
    sums.push(h.kernels.sumSquares({ x: p.grad, n, partials }));
    h.kernels.adamw({ ...p, ...opts, n });
    return { param: { ptr: p.param, n }, m: { ptr: p.m, n }, v: { ptr: p.v, n } };
  });
  expectMatches("adamw", got, want, 1e-6);
  const ref = sumSquaresRef(f64(grad), n);
  assert.ok(Math.abs(sums[1]! - ref) <= 1e-12 * ref, `sumSquares ${sums[1]} vs ${ref}`);
  assert.equal(sums[0], sums[1], "sumSquares: 1 and 2 threads differ");
});

test("add and scale vs f64 (aliased output, chunk tails, infinities kept by scale)", () => {
  const n = 150003;
  const [a, b] = [randomArray(n, 17), randomArray(n, 18)];
  a[5] = Number.POSITIVE_INFINITY;
  const want = { sum: new Float64Array(n), scaled: new Float64Array(n) };
  addRef({ data: want.sum, off: 0 }, f64(a), f64(b), { n, alpha: 0.5, beta: -3 });
  scaleRef({ data: want.scaled, off: 0 }, f64(a), n, 2);
  const got = onBoth((h) => {
    const [ap, sum] = [put(h, a), put(h, b)];
    h.kernels.scale({ out: ap, x: ap, n, alpha: 2 }); // in place
    const a2 = put(h, a);
    h.kernels.add({ out: sum, a: a2, b: sum, n, alpha: 0.5, beta: -3 }); // out aliases b
    return { sum: { ptr: sum, n }, scaled: { ptr: ap, n } };
  });
  expectMatches("add/scale", got, want, 1e-6);
});
