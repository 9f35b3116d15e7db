// WebGPU fused attention forward/backward (kernels/attention.wgsl, attention_delta.wgsl,
// attention_bwd_kv.wgsl). Contract: Backend.attention / attentionBackward in ../../backend.ts.
// Backward is three dispatches (delta, dq, dk/dv) so that no kernel binds more than 8 storage
// buffers. Tile sizes follow the device's workgroup-memory limit; nothing here owns buffers.
import type { AttentionOptions } from "../../backend.js";
import { attentionBackwardDims, attentionForwardDims } from "../../op-shapes-attention.js";
import type { AttentionDims } from "../../reference/attention.js";
import type { Tensor } from "../../tensor.js";
import { dtypeCode, kernel } from "../kernel-source.js";
import { BackendError } from "../../../errors.js";
import { encodeFill } from "./elementwise.js";
import type { Runtime } from "../runtime.js";
import type { TypedParam } from "../params.js";
import { f32, packParams } from "../runtime.js";

export interface AttentionBackwardArgs {
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
  dOut: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  out: Tensor;
  lse: Tensor;
}

/** Largest power of two <= cap whose `bytesPer` units fit in `budget` bytes (at least 1). */
function fitPow2(cap: number, bytesPer: number, budget: number): number {
  let n = cap;
  while (n > 1 && n * bytesPer > budget) n /= 2;
  return n;
}

function wgBytes(rt: Runtime): number {
  return rt.limits.maxComputeWorkgroupStorageSize ?? 16384;
}

/** Rows (t, h) per workgroup: 64, or 32 when a K/V head has few query rows (decode). */
function rowsPerGroup(rows: number): number {
  return rows <= 32 ? 32 : 64;
}

/**
 * Smallest head dim at which the dk/dv kernel holds each key in a lane pair (DSPLIT 2; needs
 * subgroups and an even number of vec4s); benchmarks and A/B runs change it. The same split of
 * the forward's and dq's rows was measured slower on an H100 (0.86 vs 0.74 ms, 1.16 vs 1.01 ms at
 * B 32, T 512, H 8, D 64) and is not built.
 */
export const attentionTuning = { pairedKvMinD: 33 };

/** 2 when the dk/dv kernel may split each key's head dim over a lane pair, else 1. */
function headDimSplit(rt: Runtime, hd4: number, d: number): 1 | 2 {
  return rt.hasFeature("subgroups") && hd4 % 2 === 0 && d >= attentionTuning.pairedKvMinD ? 2 : 1;
}

/**
 * A kernel (attention_bwd_kv.wgsl) built for DSPLIT = 2: subgroup shuffles add the two halves of
 * each dot product. The two lanes of a pair always run the same rows, which WGSL's uniformity
 * analysis cannot see: hence its opt-out (Dawn's allow_unsafe_apis, on in the Node runtime).
 */
function pairedSource(name: string, dsplit: 1 | 2): { key: string; source: string } {
  const k = kernel(name);
  const src = k.source as string;
  if (dsplit === 1) return { key: k.key, source: src };
  const at = src.indexOf("return x; //@PAIR_SUM");
  if (at < 0) throw new BackendError(`${name}.wgsl lacks its //@PAIR_SUM line`);
  const body = `${src.slice(0, at)}return x + subgroupShuffleXor(x, 1u);${src.slice(src.indexOf("\n", at))}`;
  return {
    key: `${k.key}:paired`,
    source: `enable subgroups;\nenable chromium_disable_uniformity_analysis;\n${body}`,
  };
}

function fwdConstants(rt: Runtime, dims: AttentionDims, k: Tensor) {
  const hd4 = Math.ceil(dims.d / 4);
  const gq = dims.h / dims.hkv;
  const bq = rowsPerGroup(dims.t * gq);
  const tk = fitPow2(32, 2 * hd4 * 16, wgBytes(rt));
  return { DT_KV: dtypeCode(k.dtype), HD4: hd4, GQ: gq, BQ: bq, TK: tk, SPLITK: 1 };
}

/** Workgroups below which the forward splits keys (about two per multiprocessor of an H100). */
const FILL_GROUPS = 264;

/** Key splits for a forward grid of `groups` workgroups: [splits, keys per split (multiple of tk)]. */
function keySplits(groups: number, s: number, tk: number): [number, number] {
  if (groups >= FILL_GROUPS || s <= 2 * tk) return [1, Math.max(s, 1)];
  const want = Math.min(Math.ceil(FILL_GROUPS / groups), Math.ceil(s / tk), 64);
  const chunk = Math.ceil(Math.ceil(s / want) / tk) * tk;
  return [Math.ceil(s / chunk), chunk];
}

function attentionParams(dims: AttentionDims): (number | TypedParam)[] {
  // out_off lse_off q_off k_off v_off T S H Hkv D scale causal do_off delta_off chunk
  return [
    0,
    0,
    0,
    0,
    0,
    dims.t,
    dims.s,
    dims.h,
    dims.hkv,
    dims.d,
    f32(dims.scale),
    dims.causal ? 1 : 0,
    0,
    0,
    dims.s,
  ];
}

export function encodeAttention(
  rt: Runtime,
  io: { out: Tensor; lse: Tensor; q: Tensor; k: Tensor; v: Tensor },
  opts: AttentionOptions,
): void {
  const dims = attentionForwardDims(io, opts);
  if (dims.b * dims.t * dims.h === 0) return;
  const c = fwdConstants(rt, dims, io.k);
  const tiles = Math.ceil((dims.t * c.GQ) / c.BQ);
  const [splits, chunk] = keySplits(tiles * dims.hkv * dims.b, dims.s, c.TK);
  const params = attentionParams(dims);
  params[14] = chunk;
  if (splits === 1) {
    rt.dispatch({
      ...kernel("attention"),
      entry: "forward",
      constants: c,
      bindings: [io.out, io.lse, io.q, io.k, io.v],
      params: packParams(params),
      offsetWords: [0, 1, 2, 3, 4],
      workgroups: [tiles, dims.hkv, dims.b],
    });
    return;
  }
  // flash-decoding: partials per key range, then a merge
  const rows = dims.b * dims.h * dims.t;
  const part = rt.scratch(rows * splits * (dims.d + 2), "f32", "attention partials");
  rt.dispatch({
    ...kernel("attention"),
    entry: "forward",
    constants: { ...c, SPLITK: splits },
    bindings: [part, io.lse, io.q, io.k, io.v],
    params: packParams(params),
    offsetWords: [0, 1, 2, 3, 4],
    workgroups: [tiles * splits, dims.hkv, dims.b],
  });
  rt.dispatch({
    ...kernel("attention_combine"),
    bindings: [io.out, io.lse, part],
    params: packParams([0, 0, 0, rows * dims.d, dims.t, dims.h, dims.d, splits]),
    offsetWords: [0, 1, 2],
    workgroups: Math.ceil((rows * dims.d) / 256),
  });
}

export function encodeAttentionBackward(
  rt: Runtime,
  io: AttentionBackwardArgs,
  opts: AttentionOptions & { accumulateKV?: boolean },
): void {
  const dims = attentionBackwardDims(io, opts);
  const { b, t, s, h, hkv, d } = dims;
  if (b * s * hkv * d === 0) {
    // no keys: every gradient is zero (dk/dv are empty, or kept when accumulating)
    if (b * t * h * d > 0) encodeFill(rt, io.dq, 0);
    return;
  }
  const rows = b * t * h;
  const delta = rt.scratch(Math.max(rows, 1), "f32", "attention delta");
  if (rows > 0) {
    rt.dispatch({
      ...kernel("attention_delta"),
      bindings: [delta, io.dOut, io.out],
      params: packParams([0, 0, 0, rows, t, h, d]),
      offsetWords: [0, 1, 2],
      workgroups: Math.ceil(rows / 64),
    });
    const c = fwdConstants(rt, dims, io.k);
    rt.dispatch({
      ...kernel("attention"),
      entry: "backward_dq",
      constants: c,
      bindings: [io.dq, io.lse, io.q, io.k, io.v, io.dOut, delta],
      params: packParams(attentionParams(dims)),
      offsetWords: [0, 1, 2, 3, 4, 12, 13],
      workgroups: [Math.ceil((t * c.GQ) / c.BQ), hkv, b],
    });
  }
  const hd4 = Math.ceil(d / 4);
  const gq = h / hkv;
  // GQA/MQA: one workgroup column per query head (partials, summed by attention_kv_reduce), so that
  // the grid has B * S / BKV * H workgroups instead of B * S / BKV * Hkv.
  const split = gq;
  const bkv = s <= 32 ? 32 : 64;
  const tq = fitPow2(32, 2 * hd4 * 16 + 8, wgBytes(rt));
  const nkv = b * s * hkv * d;
  const [gk, gv] =
    split > 1
      ? [rt.scratch(nkv * split, "f32", "dk partials"), rt.scratch(nkv * split, "f32", "dv partials")]
      : [io.dk, io.dv];
  const dsplit = headDimSplit(rt, hd4, d);
  rt.dispatch({
    ...pairedSource("attention_bwd_kv", dsplit),
    constants: {
      DT_KV: dtypeCode(io.k.dtype),
      HD4: hd4,
      GQ: gq,
      BKV: bkv,
      TQ: tq,
      SPLIT: split,
      DSPLIT: dsplit,
    },
    bindings: [gk, gv, io.q, io.k, io.v, io.dOut, io.lse, delta],
    params: packParams([
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      t,
      s,
      h,
      hkv,
      d,
      f32(dims.scale),
      dims.causal ? 1 : 0,
      split === 1 && opts.accumulateKV ? 1 : 0,
    ]),
    offsetWords: [0, 1, 2, 3, 4, 5, 6, 7],
    workgroups: [Math.ceil(s / bkv), hkv * split, b],
  });
  if (split > 1) {
    rt.dispatch({
      ...kernel("attention_kv_reduce"),
      bindings: [io.dk, io.dv, gk, gv],
      params: packParams([0, 0, 0, 0, nkv, d, split, opts.accumulateKV ? 1 : 0]),
      offsetWords: [0, 1, 2, 3],
      workgroups: Math.ceil(nkv / 256),
    });
  }
}
