// f16/bf16 operands the wasm kernels widen on the fly: matmul B and attention K/V, against the
// f64 references fed the same widened values; every finite f16 bit pattern through an identity
// matmul must come back exactly.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { fromBf16Array, fromF16Array, toBf16Array, toF16Array } from "../../src/backend/dtype-convert.js";
import type { WasmStorageType } from "../../src/backend/cpu/wasm/index.js";
import { type AttentionDims, attentionRef } from "../../src/backend/reference/attention.js";
import { attentionBackwardRef } from "../../src/backend/reference/attention-backward.js";
import { type Harness, makeHarness, randomArray, relError } from "./wasm-harness.js";

const HALF_TYPES = ["f16", "bf16"] as const;

/** Stores x rounded to `type` at a fresh allocation; returns its byte offset and the widened values. */
function put(
  h: Harness,
  x: Float32Array,
  type: (typeof HALF_TYPES)[number],
): { at: number; values: Float32Array } {
  const bits = type === "f16" ? toF16Array(x) : toBf16Array(x);
  const at = h.alloc(Math.ceil(x.length / 2));
  h.u16(at, x.length).set(bits);
  return { at, values: type === "f16" ? fromF16Array(bits) : fromBf16Array(bits) };
}

let h: Harness;
before(async () => {
  h = await makeHarness(2);
});
after(() => h.kernels.dispose());

test("matmul widens every finite f16 bit pattern exactly (identity A)", () => {
  h.reset();
  const n = 256;
  const bits = new Uint16Array(n * n).map((_, i) => ((i & 0x7c00) === 0x7c00 ? 0 : i));
  const pa = h.alloc(n * n);
  const eye = h.f32(pa, n * n).fill(0);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  const pb = h.alloc((n * n) / 2);
  h.u16(pb, n * n).set(bits);
  const pc = h.alloc(n * n);
  const mm = { a: pa, b: pb, c: pc, m: n, n, k: n, batch: 1, strideA: 0, strideB: 0, strideC: 0 };
  h.kernels.matmul({ ...mm, transA: false, transB: false, alpha: 1, accumulate: false, bType: "f16" });
  // a sum starting at +0 turns -0 into +0: compare against widened values + 0
  assert.deepEqual(
    h.f32(pc, n * n),
    fromF16Array(bits).map((x) => x + 0),
  );
  h.kernels.matmul({ ...mm, transA: false, transB: false, alpha: 1, accumulate: false, bType: "bf16" });
  assert.deepEqual(
    h.f32(pc, n * n),
    fromBf16Array(bits).map((x) => x + 0),
  );
});

test("matmul with f16/bf16 B vs f64 reference (transposes, batch, broadcast, small M)", () => {
  let seed = 300;
  for (const type of HALF_TYPES) {
    for (const transB of [false, true]) {
      for (const [m, n, k, batch, bcast] of [
        [17, 33, 65, 1, false],
        [64, 40, 129, 3, false],
        [5, 72, 33, 4, true],
        // M <= 4 with transB: the streaming gemv path
        [1, 200, 77, 2, false],
        [4, 33, 130, 3, true],
      ] as [number, number, number, number, boolean][]) {
        h.reset();
        const a = randomArray(batch * m * k, seed++);
        const pa = h.alloc(a.length);
        h.f32(pa, a.length).set(a);
        const b = put(h, randomArray((bcast ? 1 : batch) * k * n, seed++), type);
        const pc = h.alloc(batch * m * n);
        h.kernels.matmul({
          a: pa,
          b: b.at,
          c: pc,
          m,
          n,
          k,
          batch,
          strideA: m * k,
          strideB: bcast ? 0 : k * n,
          strideC: m * n,
          transA: false,
          transB,
          alpha: 0.5,
          accumulate: false,
          bType: type,
        });
        h.checkGuards();
        const ref = new Float64Array(batch * m * n);
        for (let bi = 0; bi < batch; bi++) {
          const bo = bcast ? 0 : bi * k * n;
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let s = 0;
              for (let p = 0; p < k; p++) {
                s += a[bi * m * k + i * k + p]! * b.values[bo + (transB ? j * k + p : p * n + j)]!;
              }
              ref[bi * m * n + i * n + j] = 0.5 * s;
            }
          }
        }
        const err = relError(h.f32(pc, ref.length), ref);
        assert.ok(err < 1e-5 * Math.sqrt(k), `${type} tB=${transB} ${m}x${n}x${k} b${batch}: ${err}`);
      }
    }
  }
});

test("attention forward/backward with f16/bf16 K/V vs f64 reference", () => {
  const cases: AttentionDims[] = [
    { b: 1, t: 40, s: 70, h: 4, hkv: 2, d: 32, scale: 0.2, causal: true },
    { b: 2, t: 1, s: 90, h: 4, hkv: 4, d: 16, scale: 0.3, causal: true },
    { b: 1, t: 20, s: 20, h: 2, hkv: 1, d: 12, scale: 0.3, causal: false },
  ];
  const span = (data: Float32Array | Float64Array) => ({ data, off: 0 });
  let seed = 500;
  for (const kvType of HALF_TYPES) {
    for (const c of cases) {
      h.reset();
      const nq = c.b * c.t * c.h * c.d;
      const nkv = c.b * c.s * c.hkv * c.d;
      const nl = c.b * c.h * c.t;
      const q = randomArray(nq, seed++);
      const dOut = randomArray(nq, seed++);
      const k = put(h, randomArray(nkv, seed++), kvType);
      const v = put(h, randomArray(nkv, seed++), kvType);
      const p = { q: h.alloc(nq), out: h.alloc(nq), lse: h.alloc(nl), dOut: h.alloc(nq) };
      const g = { dq: h.alloc(nq), dk: h.alloc(nkv), dv: h.alloc(nkv) };
      h.f32(p.q, nq).set(q);
      h.f32(p.dOut, nq).set(dOut);
      const dims = {
        batch: c.b,
        t: c.t,
        s: c.s,
        h: c.h,
        hkv: c.hkv,
        d: c.d,
        scale: c.scale,
        causal: c.causal,
      };
      const kv: { k: number; v: number; kvType: WasmStorageType } = { k: k.at, v: v.at, kvType };
      h.kernels.attention({ ...dims, ...kv, q: p.q, out: p.out, lse: p.lse });
      h.kernels.attentionBackward({ ...dims, ...kv, ...p, ...g, accumulateKV: false });
      h.checkGuards();
      const out = new Float64Array(nq);
      const lse = new Float64Array(nl);
      const ref = { q: span(q), k: span(k.values), v: span(v.values), dims: c };
      attentionRef({ ...ref, out: span(out), lse: span(lse) });
      const dq = new Float64Array(nq);
      const dk = new Float64Array(nkv);
      const dv = new Float64Array(nkv);
      const saved = { out: span(h.f32(p.out, nq).slice()), lse: span(h.f32(p.lse, nl).slice()) };
      attentionBackwardRef({
        ...ref,
        ...saved,
        dOut: span(dOut),
        dq: span(dq),
        dk: span(dk),
        dv: span(dv),
        accumulateKV: false,
      });
      const errs = [
        relError(h.f32(p.out, nq), out),
        relError(h.f32(g.dq, nq), dq),
        relError(h.f32(g.dk, nkv), dk),
        relError(h.f32(g.dv, nkv), dv),
      ];
      assert.ok(
        errs.every((e) => e < 5e-5),
        `${kvType} ${JSON.stringify(c)}: out/dq/dk/dv ${errs.join(" ")}`,
      );
    }
  }
});
