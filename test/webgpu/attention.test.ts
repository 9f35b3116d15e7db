// WebGPU flash attention paths that the shared conformance suite (test/ops/attention.test.ts) does
// not reach: several row tiles (T * H / Hkv > 64), several K/V tiles (S > 32), a head dim that is
// not a multiple of 4, queries that see no key (causal with S < T: out 0, lse -inf), long decode
// rows, f16 K/V with GQA. Forward and backward vs the f64 reference backend, small shapes for CI.
import { after, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import type { DType, Tensor } from "../../src/backend/tensor.js";
import { createWebGpuBackend } from "../../src/backend/webgpu/index.js";
import { referenceBackend } from "../helpers/backends.js";
import { TOL } from "../helpers/compare.js";
import { checkOp, type OpCase, type OutputSpec } from "../helpers/op-case.js";
import { makeRng, uniform } from "../helpers/random.js";

const be = await createWebGpuBackend();
const ref = await referenceBackend();
after(() => be.dispose());

interface Case {
  b: number;
  t: number;
  s: number;
  h: number;
  hkv: number;
  d: number;
  causal: boolean;
  kv?: DType;
  accumulateKV?: boolean;
  /** Forward only (the reference's backward of a row with no visible key is degenerate). */
  fwdOnly?: boolean;
}

function attentionCase(c: Case, seed: number): OpCase {
  const rng = makeRng(seed);
  const q = [c.b, c.t, c.h, c.d];
  const kv = [c.b, c.s, c.hkv, c.d];
  const nq = c.b * c.t * c.h * c.d;
  const nkv = c.b * c.s * c.hkv * c.d;
  const opts = { causal: c.causal };
  const kvInit = c.accumulateKV ? { data: uniform(rng, nkv) } : {};
  const grads: Record<string, OutputSpec> = c.fwdOnly
    ? {}
    : {
        dq: { shape: q, tol: TOL.attention },
        dk: { shape: kv, tol: TOL.attention, ...kvInit },
        dv: { shape: kv, tol: TOL.attention, ...kvInit },
      };
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
      ...grads,
    },
    run(b: Backend, x: Record<string, Tensor>) {
      b.attention(x.out!, x.lse!, x.q!, x.k!, x.v!, opts);
      if (c.fwdOnly) return;
      b.attentionBackward(x.dq!, x.dk!, x.dv!, x.dOut!, x.q!, x.k!, x.v!, x.out!, x.lse!, {
        ...opts,
        accumulateKV: c.accumulateKV ?? false,
      });
    },
  };
}

const cases: Case[] = [
  { b: 1, t: 70, s: 70, h: 2, hkv: 1, d: 8, causal: true }, // 140 rows: 3 row tiles, 3 K/V tiles
  { b: 2, t: 9, s: 37, h: 3, hkv: 3, d: 6, causal: true }, // D % 4 != 0, S - T = 28
  { b: 1, t: 1, s: 150, h: 8, hkv: 2, d: 16, causal: true }, // decode, long row
  { b: 1, t: 33, s: 40, h: 4, hkv: 2, d: 12, causal: false, kv: "f16", accumulateKV: true },
  { b: 1, t: 34, s: 33, h: 2, hkv: 2, d: 8, causal: true, kv: "bf16" }, // dk/dv: 2 key tiles of 32
  // larger head dims (the training presets use 64): k, v, dk, dv rows of 64 floats per thread
  { b: 1, t: 20, s: 20, h: 4, hkv: 1, d: 64, causal: true }, // MQA: per-head partials, reduced
  { b: 1, t: 9, s: 30, h: 2, hkv: 2, d: 38, causal: true, kv: "f16", accumulateKV: true }, // direct, +=
];

test("webgpu attention: tiling, odd head dim, decode, f16/bf16 K/V", async () => {
  let seed = 500;
  for (const c of cases) await checkOp(be, ref, attentionCase(c, seed++));
});

test("webgpu attention: queries that see no key get out 0 and lse -inf", async () => {
  await checkOp(
    be,
    ref,
    attentionCase({ b: 1, t: 6, s: 3, h: 2, hkv: 1, d: 8, causal: true, fwdOnly: true }, 7),
  );
});
