// attention and attentionBackward on every test backend vs the f64 reference: MHA, GQA, MQA,
// causal with S > T (prefill after a cache, decode), non-causal, f16/bf16 K/V, a non-default
// scale, accumulateKV, and validation of the head mapping.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import type { DType, Tensor } from "../../src/backend/tensor.js";
import { ShapeError } from "../../src/errors.js";
import { backendLabel, referenceBackend, testBackends } from "../helpers/backends.js";
import { TOL } from "../helpers/compare.js";
import { checkOp, placeTensor } from "../helpers/op-case.js";
import { makeRng, uniform } from "../helpers/random.js";

const backends = await testBackends();
const ref = await referenceBackend();

interface Case {
  b: number;
  t: number;
  s: number;
  h: number;
  hkv: number;
  d: number;
  causal: boolean;
  scale?: number;
  kv?: DType;
  accumulateKV?: boolean;
}

function attentionCase(c: Case, seed: number) {
  const rng = makeRng(seed);
  const q = [c.b, c.t, c.h, c.d];
  const kv = [c.b, c.s, c.hkv, c.d];
  const nq = c.b * c.t * c.h * c.d;
  const nkv = c.b * c.s * c.hkv * c.d;
  const opts = { causal: c.causal, ...(c.scale === undefined ? {} : { scale: c.scale }) };
  const kvInit = c.accumulateKV ? { data: uniform(rng, nkv) } : {};
  return {
    name: `attention ${JSON.stringify(c)}`,
    inputs: {
      q: { shape: q, data: uniform(rng, nq, 2) },
      k: { shape: kv, dtype: c.kv ?? "f32", data: uniform(rng, nkv, 2) },
      v: { shape: kv, dtype: c.kv ?? "f32", data: uniform(rng, nkv) },
      dOut: { shape: q, data: uniform(rng, nq) },
    },
    outputs: {
      out: { shape: q, tol: TOL.attention },
      lse: { shape: [c.b, c.h, c.t], tol: TOL.attention },
      dq: { shape: q, tol: TOL.attention },
      dk: { shape: kv, tol: TOL.attention, ...kvInit },
      dv: { shape: kv, tol: TOL.attention, ...kvInit },
    },
    run(be: Backend, x: Record<string, Tensor>) {
      be.attention(x.out!, x.lse!, x.q!, x.k!, x.v!, opts);
      be.attentionBackward(x.dq!, x.dk!, x.dv!, x.dOut!, x.q!, x.k!, x.v!, x.out!, x.lse!, {
        ...opts,
        accumulateKV: c.accumulateKV ?? false,
      });
    },
  };
}

const cases: Case[] = [
  { b: 2, t: 5, s: 5, h: 3, hkv: 3, d: 8, causal: true }, // MHA
  { b: 1, t: 13, s: 13, h: 4, hkv: 2, d: 24, causal: true }, // GQA
  { b: 2, t: 6, s: 6, h: 4, hkv: 1, d: 16, causal: false }, // MQA, bidirectional
  { b: 1, t: 3, s: 11, h: 2, hkv: 1, d: 8, causal: true }, // prefill after a cache: S > T
  { b: 2, t: 1, s: 9, h: 4, hkv: 2, d: 8, causal: true }, // decode
  { b: 1, t: 4, s: 7, h: 2, hkv: 2, d: 12, causal: false, scale: 0.3 },
  { b: 1, t: 6, s: 6, h: 4, hkv: 2, d: 8, causal: true, kv: "f16" },
  { b: 1, t: 5, s: 8, h: 2, hkv: 1, d: 8, causal: true, kv: "bf16" },
  { b: 1, t: 7, s: 7, h: 6, hkv: 2, d: 8, causal: true, accumulateKV: true }, // CLA consumer
  { b: 1, t: 40, s: 40, h: 4, hkv: 1, d: 32, causal: true }, // longer rows (tiling paths)
];

for (const be of backends) {
  test(`attention forward + backward on ${backendLabel(be)}`, async () => {
    let seed = 100;
    for (const c of cases) await checkOp(be, ref, attentionCase(c, seed++));
  });

  test(`attention validation on ${backendLabel(be)}`, () => {
    const q = placeTensor(be, { shape: [1, 2, 4, 8] }, "q");
    const k = placeTensor(be, { shape: [1, 3, 3, 8] }, "k");
    const out = placeTensor(be, { shape: [1, 2, 4, 8] }, "out");
    const lse = placeTensor(be, { shape: [1, 4, 2] }, "lse");
    assert.throws(
      () => be.attention(out, lse, q, k, k),
      (e) => e instanceof ShapeError && /Hkv 3/.test(e.message),
    );
    const k2 = placeTensor(be, { shape: [1, 3, 2, 8] }, "k2");
    const badLse = placeTensor(be, { shape: [1, 2, 4] }, "badLse");
    assert.throws(
      () => be.attention(out, badLse, q, k2, k2),
      (e) => e instanceof ShapeError && /attention lse/.test(e.message),
    );
  });
}
