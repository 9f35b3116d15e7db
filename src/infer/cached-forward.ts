// One engine step of the CLA transformer over the paged KV cache: the new tokens of several
// sequences packed as N rows (varlen: prefill chunks and decode tokens together). Producers write
// their new K/V into their pools; each producer's K/V per sequence is gathered ONCE per step and
// read by every layer of its sharing group (the CLA bandwidth saving). Returns logits for the
// rows that sample. Same math as model/forward.ts layerForward, with attention over the cache.
import type { Backend } from "../backend/backend.js";
import { reshape, slice0, type Tensor } from "../backend/tensor.js";
import type { ModelConfig } from "../model/config-types.js";
import type { Model } from "../model/model.js";
import { bindWeights, type ModelWeights } from "../model/weights.js";
import type { KvCache } from "./kv-cache.js";
import { kvGather, kvWrite } from "./kv-ops.js";
import { Workspace } from "./workspace.js";

/** One sequence's part of a step (the scheduler's StepItem, minus bookkeeping). */
export interface ForwardItem {
  id: string;
  /** Input tokens at positions [start, start + tokens.length). */
  tokens: readonly number[];
  start: number;
  /** Slots of these tokens (already reserved and appended in the cache). */
  slots: Int32Array;
  /** Return logits of this item's last row. */
  sample: boolean;
}

export class CachedForward {
  readonly cfg: ModelConfig;
  private readonly be: Backend;
  private readonly w: ModelWeights;
  private readonly ws: Workspace;

  constructor(
    model: Model,
    private readonly cache: KvCache,
  ) {
    this.cfg = model.config;
    this.be = model.backend;
    this.w = bindWeights(model.layout, this.cfg.nLayers, model.paramsFlat().buffer);
    this.ws = new Workspace(this.be);
  }

  /** Runs the step; returns (M, V) logits of the sampling items' last rows, in item order. */
  async run(items: readonly ForwardItem[]): Promise<Float32Array | Float64Array> {
    const { be, cfg, ws } = this;
    const { dModel: C, nHeads: H, nKvHeads: Hkv, headDim: D, ffnDim: F, vocabSize: V, normEps: eps } = cfg;
    const N = items.reduce((s, it) => s + it.tokens.length, 0);
    const ids = new Int32Array(N);
    const pos = new Int32Array(N);
    const rowStart: number[] = [];
    let r = 0;
    for (const it of items) {
      rowStart.push(r);
      it.tokens.forEach((t, i) => {
        ids[r + i] = t;
        pos[r + i] = it.start + i;
      });
      r += it.tokens.length;
    }
    const idsT = ws.get("ids", [N], "i32");
    const posT = ws.get("pos", [N], "i32");
    be.write(idsT, ids);
    be.write(posT, pos);
    let x = ws.get("resA", [N, C]);
    let next = ws.get("resB", [N, C]);
    be.embedding(x, this.w.embed, idsT); // (N, C)
    const rstd = ws.get("rstd", [N]);
    const xn = ws.get("xn", [N, C]);
    const q = ws.get("q", [N, H, D]);
    const att = ws.get("att", [N, H, D]);
    const resMid = ws.get("resMid", [N, C]);
    const gu = ws.get("gu", [N, 2 * F]);
    const h = ws.get("h", [N, F]);
    const maxT = Math.max(1, ...items.map((it) => it.tokens.length));
    const lse = ws.get("lse", [1, H, maxT]);
    // Gathered K/V of the current sharing group: all sequences' keys packed, (sum S, Hkv, D).
    const seqLens = items.map((it) => it.start + it.tokens.length);
    const keyStart = seqLens.map((_, i) => seqLens.slice(0, i).reduce((a, b) => a + b, 0));
    const totalKeys = seqLens.reduce((a, b) => a + b, 0);
    const kvDtype = this.cache.layout.dtype;
    const kAll = ws.get("kAll", [totalKeys, Hkv, D], kvDtype);
    const vAll = ws.get("vAll", [totalKeys, Hkv, D], kvDtype);
    const seqSlots = items.map((it) =>
      this.cache.tables.slotsOf(it.id).subarray(0, it.start + it.tokens.length),
    );
    for (let l = 0; l < cfg.nLayers; l++) {
      const w = this.w.layers[l]!;
      be.rmsnorm(xn, rstd, x, w.qNorm, eps);
      be.matmul(reshape(q, [N, H * D]), xn, w.wq, { transB: true }); // q: (N, H*D)
      be.rope(q, q, posT, cfg.ropeBase);
      if (w.wk && w.wv && w.kvNorm) {
        const k = ws.get("k", [N, Hkv, D]);
        const v = ws.get("v", [N, Hkv, D]);
        be.rmsnorm(xn, rstd, x, w.kvNorm, eps);
        be.matmul(reshape(k, [N, Hkv * D]), xn, w.wk, { transB: true });
        be.matmul(reshape(v, [N, Hkv * D]), xn, w.wv, { transB: true });
        be.rope(k, k, posT, cfg.ropeBase);
        const pools = this.cache.kvViewsFor(l);
        items.forEach((it, i) => {
          const rows = [rowStart[i]!, it.tokens.length] as const;
          kvWrite(be, pools.k, slice0(k, ...rows), it.slots);
          kvWrite(be, pools.v, slice0(v, ...rows), it.slots);
          kvGather(be, slice0(kAll, keyStart[i]!, seqLens[i]!), pools.k, seqSlots[i]!);
          kvGather(be, slice0(vAll, keyStart[i]!, seqLens[i]!), pools.v, seqSlots[i]!);
        });
      }
      items.forEach((it, i) => {
        const T = it.tokens.length;
        const S = seqLens[i]!;
        const rows = (t: Tensor) => reshape(slice0(t, rowStart[i]!, T), [1, T, H, D]);
        const kv = (t: Tensor) => reshape(slice0(t, keyStart[i]!, S), [1, S, Hkv, D]);
        const l3 = reshape(slice0(reshape(lse, [H * maxT]), 0, H * T), [1, H, T]);
        be.attention(rows(att), l3, rows(q), kv(kAll), kv(vAll), { causal: true });
      });
      be.matmul(resMid, reshape(att, [N, H * D]), w.wo, { transB: true }); // (N, C)
      be.add(resMid, resMid, x);
      be.rmsnorm(xn, rstd, resMid, w.ffnNorm, eps);
      be.matmul(gu, xn, w.wGateUp, { transB: true }); // (N, 2F)
      be.swiglu(h, gu); // (N, F)
      be.matmul(next, h, w.wDown, { transB: true }); // (N, C)
      be.add(next, next, resMid);
      [x, next] = [next, x];
    }
    const sampleRows = items.flatMap((it, i) => (it.sample ? [rowStart[i]! + it.tokens.length - 1] : []));
    const M = sampleRows.length;
    if (M === 0) return new Float32Array(0);
    const xs = ws.get("xs", [M, C]);
    sampleRows.forEach((row, m) => {
      be.cast(slice0(xs, m, 1), slice0(x, row, 1));
    });
    const xsn = ws.get("xsn", [M, C]);
    be.rmsnorm(xsn, ws.get("rstdS", [M]), xs, this.w.norm, eps);
    const logits = ws.get("logits", [M, V]);
    be.matmul(logits, xsn, this.w.lmHead, { transB: true }); // (M, V)
    return (await be.read(logits)) as Float32Array | Float64Array;
  }

  dispose(): void {
    this.ws.dispose();
  }
}
