// wasm fused attention (forward and backward) vs the f64 reference kernels of the reference
// backend: MHA/GQA/MQA, S > T (prefill after a cache, decode), causal and not, odd head dims,
// several tiles, accumulateKV, dq by query items and by key-item partials (bitwise the same);
// 1 and 2 threads. Errors relative to max|ref|.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type AttentionDims, attentionRef } from "../../src/backend/reference/attention.js";
import { attentionBackwardRef } from "../../src/backend/reference/attention-backward.js";
import { type Harness, makeHarness, randomArray, relError } from "./wasm-harness.js";

const CASES: AttentionDims[] = [
  { b: 1, t: 5, s: 5, h: 1, hkv: 1, d: 8, scale: 0.35, causal: true },
  { b: 2, t: 17, s: 17, h: 4, hkv: 4, d: 16, scale: 0.25, causal: true },
  { b: 1, t: 70, s: 70, h: 4, hkv: 2, d: 33, scale: 0.2, causal: true },
  { b: 2, t: 9, s: 140, h: 6, hkv: 1, d: 64, scale: 0.125, causal: true },
  { b: 1, t: 1, s: 77, h: 8, hkv: 2, d: 64, scale: 0.125, causal: true },
  { b: 1, t: 40, s: 100, h: 3, hkv: 3, d: 7, scale: 0.5, causal: false },
  { b: 1, t: 33, s: 33, h: 2, hkv: 1, d: 300, scale: 0.06, causal: true },
  { b: 1, t: 130, s: 130, h: 1, hkv: 1, d: 128, scale: 0.09, causal: true },
  { b: 2, t: 3, s: 150, h: 2, hkv: 2, d: 16, scale: 0.3, causal: true },
  // T > S: the first T - S queries see no key (out 0, lse -inf, no gradient)
  { b: 1, t: 20, s: 8, h: 2, hkv: 1, d: 16, scale: 0.3, causal: true },
];

function sizes(c: AttentionDims) {
  return { q: c.b * c.t * c.h * c.d, kv: c.b * c.s * c.hkv * c.d, lse: c.b * c.h * c.t };
}

function wasmDims(c: AttentionDims) {
  return { batch: c.b, t: c.t, s: c.s, h: c.h, hkv: c.hkv, d: c.d, scale: c.scale, causal: c.causal };
}

const span = (data: Float32Array | Float64Array) => ({ data, off: 0 });

for (const threads of [1, 2]) {
  let h: Harness;
  before(async () => {
    h = await makeHarness(threads);
  });
  after(() => h.kernels.dispose());

  test(`attention forward vs f64 reference (threads ${threads})`, () => {
    CASES.forEach((c, ci) => {
      h.reset();
      const n = sizes(c);
      const q = randomArray(n.q, 10 + ci);
      const k = randomArray(n.kv, 20 + ci);
      const v = randomArray(n.kv, 30 + ci);
      const ptr = {
        q: h.alloc(n.q),
        k: h.alloc(n.kv),
        v: h.alloc(n.kv),
        out: h.alloc(n.q),
        lse: h.alloc(n.lse),
      };
      h.f32(ptr.q, n.q).set(q);
      h.f32(ptr.k, n.kv).set(k);
      h.f32(ptr.v, n.kv).set(v);
      h.kernels.attention({ ...wasmDims(c), ...ptr });
      h.checkGuards();
      const out = new Float64Array(n.q);
      const lse = new Float64Array(n.lse);
      attentionRef({ out: span(out), lse: span(lse), q: span(q), k: span(k), v: span(v), dims: c });
      const eOut = relError(h.f32(ptr.out, n.q), out);
      const eLse = relError(h.f32(ptr.lse, n.lse), lse);
      assert.ok(eOut < 2e-5 && eLse < 2e-6, `${JSON.stringify(c)}: out ${eOut} lse ${eLse}`);
    });
  });

  test(`attention backward vs f64 reference, overwrite and accumulateKV, dq partials (threads ${threads})`, () => {
    CASES.forEach((c, ci) => {
      let dqByQueryItems: Float32Array | undefined;
      for (const [accumulateKV, partials] of [
        [false, false],
        [false, true],
        [true, true],
      ] as const) {
        h.reset();
        const n = sizes(c);
        const q = randomArray(n.q, 40 + ci);
        const k = randomArray(n.kv, 50 + ci);
        const v = randomArray(n.kv, 60 + ci);
        const dOut = randomArray(n.q, 70 + ci);
        const dk0 = randomArray(n.kv, 80 + ci);
        const dv0 = randomArray(n.kv, 90 + ci);
        // forward in f64, rounded to f32 like a real forward's outputs
        const out64 = new Float64Array(n.q);
        const lse64 = new Float64Array(n.lse);
        attentionRef({ out: span(out64), lse: span(lse64), q: span(q), k: span(k), v: span(v), dims: c });
        const out = Float32Array.from(out64);
        const lse = Float32Array.from(lse64);
        const p = {
          dq: h.alloc(n.q),
          dk: h.alloc(n.kv),
          dv: h.alloc(n.kv),
          dOut: h.alloc(n.q),
          q: h.alloc(n.q),
          k: h.alloc(n.kv),
          v: h.alloc(n.kv),
          out: h.alloc(n.q),
          lse: h.alloc(n.lse),
        };
        const inputs: [number, Float32Array][] = [
          [p.dOut, dOut],
          [p.q, q],
          [p.k, k],
          [p.v, v],
          [p.out, out],
          [p.lse, lse],
          [p.dk, dk0],
          [p.dv, dv0],
        ];
        for (const [at, data] of inputs) h.f32(at, data.length).set(data);
        h.f32(p.dq, n.q).fill(Number.NaN);
        const dqPartials = partials ? h.alloc(h.kernels.attentionDqPartialsBytes(wasmDims(c)) / 4) : 0;
        h.kernels.attentionBackward({ ...wasmDims(c), ...p, accumulateKV, dqPartials });
        h.checkGuards();
        if (!partials) dqByQueryItems = h.f32(p.dq, n.q).slice();
        else assert.deepEqual(h.f32(p.dq, n.q), dqByQueryItems, `${JSON.stringify(c)}: dq differs by path`);
        const dq = new Float64Array(n.q);
        const dk = Float64Array.from(dk0);
        const dv = Float64Array.from(dv0);
        attentionBackwardRef({
          dq: span(dq),
          dk: span(dk),
          dv: span(dv),
          dOut: span(dOut),
          q: span(q),
          k: span(k),
          v: span(v),
          out: span(out),
          lse: span(lse),
          dims: c,
          accumulateKV,
        });
        const e = [
          relError(h.f32(p.dq, n.q), dq),
          relError(h.f32(p.dk, n.kv), dk),
          relError(h.f32(p.dv, n.kv), dv),
        ];
        assert.ok(
          e.every((x) => x < 5e-5),
          `${JSON.stringify(c)} acc=${accumulateKV} partials=${partials}: dq ${e[0]} dk ${e[1]} dv ${e[2]}`,
        );
      }
    });
  });
}
