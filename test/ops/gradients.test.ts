// Every backward op vs central finite differences in f64 on the f64 CPU backend (the oracle the
// other backends are compared against): matmul (all transposes), embedding with repeated ids,
// rmsnorm (accumulating dx), rope (the inverse rotation), swiglu, attention (MHA, GQA, MQA,
// causal with S > T, accumulateKV) and cross entropy with ignored targets.
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { referenceBackend } from "../helpers/backends.js";
import { checkGradients, type GradCase } from "../helpers/finite-diff.js";
import { makeRng, randomInts, uniform } from "../helpers/random.js";

const be = await referenceBackend();
const rng = makeRng(99);

function matmulGrad(transA: boolean, transB: boolean): GradCase {
  const [m, k, n] = [3, 4, 5];
  return {
    name: `matmul transA=${transA} transB=${transB}`,
    inputs: {
      a: { shape: transA ? [k, m] : [m, k], data: uniform(rng, m * k) },
      b: { shape: transB ? [n, k] : [k, n], data: uniform(rng, k * n) },
    },
    outputs: { out: [m, n] },
    wrt: ["a", "b"],
    forward: (b, t) => b.matmul(t.out!, t.a!, t.b!, { transA, transB }),
    backward(b, t) {
      // da = dOut @ op(b)^T (stored like a), db = op(a)^T @ dOut (stored like b)
      if (transA) b.matmul(t.da!, t.b!, t.dout!, { transA: transB, transB: true });
      else b.matmul(t.da!, t.dout!, t.b!, { transB: !transB });
      if (transB) b.matmul(t.db!, t.dout!, t.a!, { transA: true, transB: transA });
      else b.matmul(t.db!, t.a!, t.dout!, { transA: !transA });
    },
  };
}

function attentionGrad(c: {
  b: number;
  t: number;
  s: number;
  h: number;
  hkv: number;
  causal: boolean;
  acc?: boolean;
}): GradCase {
  const d = 4;
  const q = [c.b, c.t, c.h, d];
  const kv = [c.b, c.s, c.hkv, d];
  const opts = { causal: c.causal, scale: 0.7 };
  return {
    name: `attention ${JSON.stringify(c)}`,
    inputs: {
      q: { shape: q, data: uniform(rng, c.b * c.t * c.h * d, 1.5) },
      k: { shape: kv, data: uniform(rng, c.b * c.s * c.hkv * d, 1.5) },
      v: { shape: kv, data: uniform(rng, c.b * c.s * c.hkv * d) },
    },
    outputs: { out: q },
    saved: { lse: [c.b, c.h, c.t] },
    wrt: ["q", "k", "v"],
    accumulates: c.acc ? ["dk", "dv"] : [],
    forward: (b, t) => b.attention(t.out!, t.lse!, t.q!, t.k!, t.v!, opts),
    backward: (b, t) =>
      b.attentionBackward(t.dq!, t.dk!, t.dv!, t.dout!, t.q!, t.k!, t.v!, t.out!, t.lse!, {
        ...opts,
        accumulateKV: c.acc ?? false,
      }),
  };
}

const cases: GradCase[] = [
  matmulGrad(false, false),
  matmulGrad(false, true),
  matmulGrad(true, false),
  matmulGrad(true, true),
  {
    name: "embedding with repeated ids",
    inputs: {
      table: { shape: [6, 5], data: uniform(rng, 30) },
      ids: { shape: [7], dtype: "i32", data: Int32Array.from([2, 0, 2, 5, 2, 0, 3]) },
    },
    outputs: { out: [7, 5] },
    wrt: ["table"],
    accumulates: ["dtable"],
    forward: (b, t) => b.embedding(t.out!, t.table!, t.ids!),
    backward: (b, t) => b.embeddingBackward(t.dtable!, t.dout!, t.ids!),
  },
  {
    name: "rmsnorm (dx and dWeight accumulate)",
    inputs: {
      x: { shape: [3, 7], data: uniform(rng, 21, 2) },
      weight: { shape: [7], data: uniform(rng, 7) },
    },
    outputs: { out: [3, 7] },
    saved: { rstd: [3] },
    wrt: ["x", "weight"],
    accumulates: ["dx", "dweight"],
    forward: (b, t) => b.rmsnorm(t.out!, t.rstd!, t.x!, t.weight!, 1e-3),
    backward: (b, t) => b.rmsnormBackward(t.dx!, t.dweight!, t.dout!, t.x!, t.weight!, t.rstd!, true),
  },
  {
    name: "rope (backward = inverse rotation)",
    inputs: {
      x: { shape: [4, 2, 6], data: uniform(rng, 48) },
      pos: { shape: [4], dtype: "i32", data: randomInts(rng, 4, 0, 50) },
    },
    outputs: { out: [4, 2, 6] },
    wrt: ["x"],
    forward: (b, t) => b.rope(t.out!, t.x!, t.pos!, 10000),
    backward: (b, t) => b.rope(t.dx!, t.dout!, t.pos!, 10000, true),
  },
  {
    name: "swiglu",
    inputs: { gu: { shape: [3, 10], data: uniform(rng, 30, 3) } },
    outputs: { out: [3, 5] },
    wrt: ["gu"],
    forward: (b, t) => b.swiglu(t.out!, t.gu!),
    backward: (b, t) => b.swigluBackward(t.dgu!, t.dout!, t.gu!),
  },
  attentionGrad({ b: 2, t: 3, s: 3, h: 2, hkv: 2, causal: true }), // MHA
  attentionGrad({ b: 1, t: 4, s: 4, h: 4, hkv: 2, causal: true }), // GQA
  attentionGrad({ b: 1, t: 3, s: 3, h: 3, hkv: 1, causal: false }), // MQA
  attentionGrad({ b: 1, t: 2, s: 5, h: 2, hkv: 1, causal: true }), // S > T
  attentionGrad({ b: 1, t: 3, s: 3, h: 4, hkv: 2, causal: true, acc: true }), // accumulateKV
  {
    name: "crossEntropy with ignored targets",
    inputs: {
      logits: { shape: [4, 6], data: uniform(rng, 24, 3) },
      targets: { shape: [4], dtype: "i32", data: Int32Array.from([1, -1, 5, 0]) },
    },
    outputs: { losses: [4] },
    wrt: ["logits"],
    weights: 0.25,
    forward: (b, t) => b.crossEntropy(t.losses!, t.logits!, t.targets!),
    backward: (b, t) => b.crossEntropyBackward(t.dlogits!, t.logits!, t.targets!, 0.25),
  },
];

for (const c of cases) {
  test(`gradient: ${c.name}`, async () => {
    await checkGradients(be as Backend, c);
  });
}
