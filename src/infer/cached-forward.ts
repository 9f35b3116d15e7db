// One engine step of the CLA transformer over the paged KV cache: the new tokens of several
// sequences packed as N rows (varlen: prefill chunks and decode tokens together). Producers scatter
// their new K/V into their pools (Backend.kvWrite); every layer attends through the block tables
// (Backend.pagedAttention), a sharing layer over its producer's pools: no K/V is copied or gathered.
// The per-layer math is model/forward.ts's (layerQkv, layerOutFfn); only attention differs.
import type { Backend } from "../backend/backend.js";
import type { Tensor } from "../backend/tensor.js";
import type { ModelConfig } from "../model/config-types.js";
import { layerOutFfn, layerQkv, type PassContext } from "../model/forward.js";
import type { Model } from "../model/model.js";
import { bindWeights } from "../model/weights.js";
import type { KvCache } from "./kv-cache.js";
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

/** Host-side metadata of one step: token ids, positions, slots, block tables, lengths, starts. */
interface StepMeta {
  n: number;
  ids: Int32Array; // (N)
  positions: Int32Array; // (N)
  slots: Int32Array; // (N)
  blockTables: Int32Array; // (B, maxBlocks)
  maxBlocks: number;
  seqLens: Int32Array; // (B)
  queryStarts: Int32Array; // (B + 1)
  sampleRows: Int32Array; // (M) rows whose logits are returned
}

export class CachedForward {
  readonly cfg: ModelConfig;
  private readonly be: Backend;
  private readonly ctx: PassContext;
  private readonly ws: Workspace;

  constructor(
    model: Model,
    private readonly cache: KvCache,
  ) {
    this.cfg = model.config;
    this.be = model.backend;
    const w = bindWeights(model.layout, this.cfg.nLayers, model.paramsFlat().buffer);
    this.ctx = { backend: this.be, cfg: this.cfg, producers: model.layout.producers, w };
    this.ws = new Workspace(this.be);
  }

  private meta(items: readonly ForwardItem[]): StepMeta {
    const tables = items.map((it) => this.cache.tables.blockTable(it.id));
    const maxBlocks = Math.max(1, ...tables.map((t) => t.length));
    const B = items.length;
    const n = items.reduce((s, it) => s + it.tokens.length, 0);
    const m: StepMeta = {
      n,
      ids: new Int32Array(n),
      positions: new Int32Array(n),
      slots: new Int32Array(n),
      blockTables: new Int32Array(B * maxBlocks), // unused entries 0: a valid block, never read
      maxBlocks,
      seqLens: new Int32Array(B),
      queryStarts: new Int32Array(B + 1),
      sampleRows: new Int32Array(0), // set below
    };
    let r = 0;
    const sample: number[] = [];
    items.forEach((it, b) => {
      m.blockTables.set(tables[b]!, b * maxBlocks);
      m.seqLens[b] = it.start + it.tokens.length;
      m.queryStarts[b] = r;
      m.ids.set(it.tokens, r);
      m.slots.set(it.slots, r);
      for (let i = 0; i < it.tokens.length; i++) m.positions[r + i] = it.start + i;
      r += it.tokens.length;
      if (it.sample) sample.push(r - 1);
    });
    m.queryStarts[B] = r;
    m.sampleRows = Int32Array.from(sample);
    return m;
  }

  private upload(name: string, data: Int32Array, shape: readonly number[] = [data.length]): Tensor {
    const t = this.ws.get(name, shape, "i32");
    this.be.write(t, data);
    return t;
  }

  /** Runs the step; returns (M, V) logits of the sampling items' last rows, in item order. */
  async run(items: readonly ForwardItem[]): Promise<Float32Array | Float64Array> {
    const { be, cfg, ws, ctx } = this;
    const { dModel: C, nHeads: H, nKvHeads: Hkv, headDim: D, ffnDim: F, vocabSize: V, normEps: eps } = cfg;
    const m = this.meta(items);
    const N = m.n;
    const ids = this.upload("ids", m.ids);
    const positions = this.upload("pos", m.positions);
    const slots = this.upload("slots", m.slots);
    const meta = {
      blockTables: this.upload("tables", m.blockTables, [items.length, m.maxBlocks]),
      seqLens: this.upload("seqLens", m.seqLens),
      queryStarts: this.upload("queryStarts", m.queryStarts),
      causal: true,
    };
    let x = ws.get("resA", [N, C]);
    let next = ws.get("resB", [N, C]);
    be.embedding(x, ctx.w.embed, ids); // (N, C)
    const qkv = {
      positions,
      xq: ws.get("xn", [N, C]),
      qRstd: ws.get("rstd", [N]),
      q: ws.get("q", [N, H, D]),
    };
    const kv = {
      xkv: qkv.xq,
      kvRstd: qkv.qRstd,
      k: ws.get("k", [N, Hkv, D]),
      v: ws.get("v", [N, Hkv, D]),
    };
    const att = ws.get("att", [N, H, D]);
    const ffn = {
      att,
      resMid: ws.get("resMid", [N, C]),
      xf: qkv.xq,
      fRstd: qkv.qRstd,
      gu: ws.get("gu", [N, 2 * F]),
      h: ws.get("h", [N, F]),
    };
    for (let l = 0; l < cfg.nLayers; l++) {
      const producer = this.cache.layout.isProducer(l);
      // kv_norm(x) may reuse the q scratch: q is computed before it is overwritten.
      layerQkv(ctx, l, { x, ...qkv, ...(producer ? { kv } : {}) });
      const pools = this.cache.kvViewsFor(l); // a sharing layer gets its producer's pools
      if (producer) {
        be.kvWrite(pools.k, kv.k, slots);
        be.kvWrite(pools.v, kv.v, slots);
      }
      be.pagedAttention(att, qkv.q, pools.k, pools.v, meta);
      layerOutFfn(ctx, l, { x, ...ffn, out: next });
      [x, next] = [next, x];
    }
    const M = m.sampleRows.length;
    if (M === 0) return new Float32Array(0);
    const xs = ws.get("xs", [M, C]);
    be.embedding(xs, x, this.upload("sampleRows", m.sampleRows)); // gather the sampled rows
    const xsn = ws.get("xsn", [M, C]);
    be.rmsnorm(xsn, ws.get("rstdS", [M]), xs, ctx.w.norm, eps);
    const logits = ws.get("logits", [M, V]);
    be.matmul(logits, xsn, ctx.w.lmHead, { transB: true }); // (M, V)
    return (await be.read(logits)) as Float32Array | Float64Array;
  }

  dispose(): void {
    this.ws.dispose();
  }
}
