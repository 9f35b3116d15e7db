// WebGPU streaming ops on the paths the small op tests miss, against the f64 CPU oracle: vec4
// (4-aligned) crossEntropy / sumSquares / adamw, crossEntropyBackward with and without a matching
// forward (the saved-lse shortcut and its invalidation when logits change), and the fused
// rmsnormBackward with C over 256 and 1024 columns, N over several row blocks and > 32 blocks.
// Tensors sit at element offset 4 (aligned) or 3 (scalar path) with NaN guards around outputs.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { numel, type Tensor, view } from "../../src/backend/tensor.js";
import { createWebGpuBackend } from "../../src/backend/webgpu/index.js";
import { referenceBackend } from "../helpers/backends.js";
import { assertClose, TOL } from "../helpers/compare.js";
import type { OpCase } from "../helpers/op-case.js";
import { makeRng, randomInts, uniform } from "../helpers/random.js";

const ref = await referenceBackend(); // at top level: its `after` disposal then ends the file
let be: Backend;
before(async () => {
  be = await createWebGpuBackend();
});
after(() => be?.dispose());

type Out = Float32Array | Float64Array | Int32Array;

/** Runs c with every tensor at element offset `off` of its own buffer (NaN guards of 4 around). */
async function runAt(b: Backend, c: OpCase, off: number): Promise<Record<string, Out>> {
  const t: Record<string, Tensor> = {};
  for (const [k, s] of Object.entries({ ...c.inputs, ...c.outputs })) {
    const n = numel(s.shape);
    const dtype = s.dtype ?? "f32";
    const buf = b.createBuffer(n + off + 4, dtype, k);
    b.fill(view(buf, [n + off + 4]), dtype === "i32" ? -7 : Number.NaN);
    t[k] = view(buf, s.shape, off);
    if (s.data) b.write(t[k]!, s.data);
  }
  c.run(b, t);
  const got: Record<string, Out> = {};
  for (const k of Object.keys(c.outputs)) {
    const o = t[k]!;
    const whole = await b.read(view(o.buffer, [o.buffer.size]));
    const n = numel(o.shape);
    for (const g of [...whole.subarray(0, off), ...whole.subarray(off + n)]) {
      assert.ok(Number.isNaN(g), `${c.name}: wrote outside output "${k}" (guard = ${g})`);
    }
    got[k] = whole.slice(off, off + n);
  }
  for (const x of Object.values(t)) b.destroyBuffer(x.buffer);
  return got;
}

async function check(c: OpCase, off: number): Promise<void> {
  const want = await runAt(ref, c, off);
  const got = await runAt(be, c, off);
  for (const [k, spec] of Object.entries(c.outputs)) {
    assertClose(`${c.name} @${off}: ${k}`, got[k]! as Float32Array, want[k]! as Float64Array, spec.tol);
  }
}

function ceCase(n: number, v: number, mode: "fwd+bwd" | "bwd only" | "logits changed"): OpCase {
  const rng = makeRng(n * v);
  const targets = randomInts(rng, n, 0, v);
  targets[1] = -1;
  return {
    name: `crossEntropy N=${n} V=${v} ${mode}`,
    inputs: {
      logits: { shape: [n, v], data: uniform(rng, n * v, 20) },
      other: { shape: [n, v], data: uniform(rng, n * v, 5) },
      targets: { shape: [n], dtype: "i32", data: targets },
    },
    outputs: {
      losses: { shape: [n], tol: TOL.reduce },
      dLogits: { shape: [n, v], tol: TOL.reduce },
    },
    run(b, t) {
      if (mode === "bwd only") b.fill(t.losses!, 0);
      else b.crossEntropy(t.losses!, t.logits!, t.targets!);
      // changed logits after the forward: the backward must not reuse the saved lse
      if (mode === "logits changed") b.add(t.logits!, t.logits!, t.other!);
      b.crossEntropyBackward(t.dLogits!, t.logits!, t.targets!, 0.25);
    },
  };
}

test("crossEntropy: vec4 and scalar paths, saved lse reused only for unchanged logits", async () => {
  for (const mode of ["fwd+bwd", "bwd only", "logits changed"] as const) {
    await check(ceCase(6, 1040, mode), 4); // vec4, more than one FV element per thread
    await check(ceCase(3, 36, mode), 3); // scalar (offset 3)
  }
});

test("sumSquares and adamw: vec4 (aligned) and scalar paths", async () => {
  const rng = makeRng(5);
  const n = 70000; // > one 16K-element vec4 chunk
  const c: OpCase = {
    name: `adamw N=${n}`,
    inputs: { grad: { shape: [n], data: uniform(rng, n) } },
    outputs: {
      param: { shape: [n], data: uniform(rng, n), tol: TOL.elementwise },
      m: { shape: [n], data: uniform(rng, n, 0.1), tol: TOL.elementwise },
      v: { shape: [n], data: uniform(rng, n, 0.1).map(Math.abs), tol: TOL.elementwise },
      sumSq: { shape: [1], tol: TOL.reduce },
    },
    run(b, t) {
      b.sumSquares(t.sumSq!, [t.grad!, t.m!]);
      const o = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 2 };
      b.adamw(t.param!, t.grad!, t.m!, t.v!, { ...o, clip: { sumSq: t.sumSq!, maxNorm: 10 } });
    },
  };
  await check(c, 4);
  await check(c, 3);
});

function rmsCase(n: number, c: number, accumulate: boolean): OpCase {
  const rng = makeRng(n + c);
  return {
    name: `rmsnormBackward N=${n} C=${c} accumulate=${accumulate}`,
    inputs: {
      x: { shape: [n, c], data: uniform(rng, n * c, 3) },
      weight: { shape: [c], data: uniform(rng, c) },
      dOut: { shape: [n, c], data: uniform(rng, n * c) },
    },
    outputs: {
      out: { shape: [n, c], tol: TOL.reduce },
      rstd: { shape: [n], tol: TOL.reduce },
      dx: { shape: [n, c], tol: TOL.reduce, ...(accumulate ? { data: uniform(rng, n * c) } : {}) },
      dWeight: { shape: [c], data: uniform(rng, c), tol: TOL.reduce },
    },
    run(b, t) {
      b.rmsnorm(t.out!, t.rstd!, t.x!, t.weight!, 1e-5);
      b.rmsnormBackward(t.dx!, t.dWeight!, t.dOut!, t.x!, t.weight!, t.rstd!, accumulate);
    },
  };
}

test("rmsnormBackward fused: wide rows, many row blocks", async () => {
  await check(rmsCase(37, 700, true), 3); // 3 columns per thread, 3 blocks, ragged last group
  await check(rmsCase(5, 1100, false), 3); // 5 columns per thread: one row per reduction round
  await check(rmsCase(530, 9, true), 3); // 34 partial blocks: the reduce's 32 lanes wrap
});
