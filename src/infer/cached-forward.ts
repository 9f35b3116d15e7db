// One engine step of the CLA transformer over the paged KV cache: the new tokens of several
// sequences packed as N rows (varlen: prefill chunks and decode tokens together). Producers scatter
// their new K/V into their pools (Backend.kvWrite); every layer attends through the block tables
// (Backend.pagedAttention), a sharing layer over its producer's pools: no K/V is copied or gathered.
// The math is model/forward.ts's (layerQkv, layerOutFfn), laid out for one submit per step: the
// step's i32 metadata is packed into one array (step-meta.ts; only what changed since the last step
// is uploaded), rope and the residual adds are out of place / fused into accumulating linears (no
// aliasing copies), and the host reads back once (logits or argmax).
import type { Backend } from "../backend/backend.js";
import { reshape, type Tensor, view } from "../backend/tensor.js";
import type { ModelConfig } from "../model/config-types.js";
import type { Model } from "../model/model.js";
import { bindWeights, type ModelWeights } from "../model/weights.js";
import { stepKernels, type StepKernels } from "./device-kernels.js";
import type { KvCache } from "./kv-cache.js";
import { MetaPacker, metaSections, type StepMeta } from "./step-meta.js";
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

/** Rows returned by a step: logits, or (greedy) the argmax token of each sampled row. */
export type StepOutput =
  | { kind: "logits"; logits: Float32Array | Float64Array }
  | { kind: "tokens"; tokens: Int32Array };

let nextInstance = 1;

/**
 * Decode steps of at most this many rows are replayed as host-bound (ReplayHints.hostBound):
 * measured on the H100 machine, batch-1 steps 16-20% faster with it in three rows of four (equal in
 * the fourth), 128-row steps (GPU-bound) 2-3% more GPU time.
 */
const HOST_BOUND_ROWS = 4;

export class CachedForward {
  readonly cfg: ModelConfig;
  /** Distinguishes this instance's replay keys from other engines' on the same backend. */
  private readonly instance = nextInstance++;
  private readonly be: Backend;
  private readonly w: ModelWeights;
  private readonly ws: Workspace;
  private readonly k: StepKernels;
  /** Packs each step's metadata, keeping what repeats (block tables) from the step before. */
  readonly packer: MetaPacker;
  private lastLogits: Tensor | null = null;
  /** Rows of the last step whose argmax stayed on the device (0: none). */
  private lastArgmaxRows = 0;

  constructor(
    model: Model,
    private readonly cache: KvCache,
  ) {
    this.cfg = model.config;
    this.be = model.backend;
    this.w = bindWeights(model.layout, this.cfg.nLayers, model.paramsFlat().buffer);
    this.ws = new Workspace(this.be);
    this.k = stepKernels(this.be);
    this.packer = new MetaPacker(cache.tables);
  }

  /** True when greedy rows can be picked on the device (runGreedy reads 4 bytes per row). */
  get deviceArgmax(): boolean {
    return this.k.argmax !== null;
  }

  /**
   * Records the whole step (one metadata upload, no host reads); returns the (M, V) logits tensor
   * and, with `greedy` on a backend with a device argmax, the (M) argmax tensor. A decode step (one
   * token per item, every item sampled) is the same work for the same (B, maxBlocks): the backend
   * may replay it instead of re-running the ops' host code (Backend.replayable).
   */
  private record(
    items: readonly ForwardItem[],
    greedy: boolean,
    chained = false,
  ): { logits: Tensor | null; tokens: Tensor | null } {
    const { be, ws } = this;
    const m = this.packer.pack(items);
    if (chained && (this.lastArgmaxRows !== items.length || m.n !== m.b || m.m !== m.b)) {
      throw new Error(
        `a chained step needs one sampled token per item for the ${this.lastArgmaxRows} rows of the last greedy step; got ${items.length} items, ${m.n} tokens`,
      );
    }
    const metaT = ws.get("meta", [m.packed.length], "i32");
    this.packer.upload(be, metaT, m);
    const encode = () => {
      const ids = chained ? ws.get("argmax", [m.n], "i32") : undefined;
      const logits = this.encode(m, metaT, ids);
      if (!greedy || logits === null || this.k.argmax === null) return { logits, tokens: null };
      const tokens = ws.get("argmax", [logits.shape[0]!], "i32");
      this.k.argmax(tokens, logits);
      return { logits, tokens };
    };
    const decode = m.n === m.b && m.m === m.b;
    const key = `cached-forward ${this.instance}: decode B ${m.b} blocks ${m.maxBlocks} greedy ${greedy} chained ${chained}`;
    const hostBound = m.b <= HOST_BOUND_ROWS;
    const out = decode && be.replayable ? be.replayable(key, encode, { hostBound }) : encode();
    this.lastArgmaxRows = out.tokens === null ? 0 : out.tokens.shape[0]!;
    return out;
  }

  /** The step's ops over the uploaded metadata `metaT` (see record); `idsIn` replaces its ids. */
  private encode(sm: StepMeta, metaT: Tensor, idsIn?: Tensor): Tensor | null {
    const { be, cfg, ws, w, k } = this;
    const { dModel: C, nHeads: H, nKvHeads: Hkv, headDim: D, ffnDim: F, vocabSize: V, normEps: eps } = cfg;
    const { n: N, b: B, m: M, maxBlocks } = sm;
    const at = metaSections(N, B, M, maxBlocks);
    const part = (off: number, shape: number[]) => view(metaT.buffer, shape, off);
    const ids = idsIn ?? part(at.ids, [N]);
    const positions = part(at.positions, [N]);
    const slots = part(at.slots, [N]);
    const meta = {
      blockTables: part(at.tables, [B, maxBlocks]),
      seqLens: part(at.seqLens, [B]),
      queryStarts: part(at.queryStarts, [B + 1]),
      causal: true,
    };
    const x = ws.get("res", [N, C]); // the residual stream, updated in place by accumulating linears
    be.embedding(x, w.embed, ids); // (N, C)
    const xn = ws.get("xn", [N, C]);
    const rstd = ws.get("rstd", [N]);
    const pre = ws.get("pre", [N, Hkv * D]); // k before rope
    const q = ws.get("q", [N, H, D]);
    const qPre = ws.get("qPre", [N, H, D]); // q before rope (roped inside attention when fused)
    const kk = ws.get("k", [N, Hkv, D]);
    const vv = ws.get("v", [N, Hkv, D]);
    const att = ws.get("att", [N, H, D]);
    const gu = ws.get("gu", [N, 2 * F]);
    const sN = { xs: xn, rstd }; // the unfused fallbacks' scratch: the normed x
    const sF = { xs: ws.get("h", [N, F]), rstd }; // ... and the swiglu output
    const ropeBase = cfg.ropeBase;
    for (let l = 0; l < cfg.nLayers; l++) {
      const lw = w.layers[l]!;
      const pools = this.cache.kvViewsFor(l); // a sharing layer gets its producer's pools
      const kvw = this.cache.layout.isProducer(l) && lw.kvNorm && lw.wk && lw.wv ? lw : null;
      const append = (kPre3: Tensor, v3: Tensor) =>
        k.appendKv({ kPool: pools.k, vPool: pools.v, kPre: kPre3, v: v3, slots, positions, ropeBase, k: kk });
      // a producer's q, k and v in one dispatch where the backend fuses them
      const fused =
        kvw && k.fusesQkv
          ? k.qkvLinear({
              out: ws.get("qkv", [N * (H + 2 * Hkv) * D]),
              x,
              wq: lw.wq,
              wk: kvw.wk!,
              wv: kvw.wv!,
              qNorm: lw.qNorm,
              kvNorm: kvw.kvNorm!,
              eps,
              append: { kPool: pools.k, vPool: pools.v, positions, slots, ropeBase },
            })
          : null;
      let qIn = qPre;
      if (fused) {
        qIn = reshape(fused.q, [N, H, D]);
        // null k/v: the kernel already wrote them into the pools
        if (fused.k && fused.v) append(reshape(fused.k, [N, Hkv, D]), reshape(fused.v, [N, Hkv, D]));
      } else {
        k.normLinear({ out: reshape(qPre, [N, H * D]), x, w: lw.wq, weight: lw.qNorm, eps }, sN);
        if (kvw) {
          const kPre = reshape(pre, [N, Hkv * D]);
          const v2 = reshape(vv, [N, Hkv * D]);
          // kv_norm(x) @ wk^T, then @ wv^T (unfused: the norm computed for k is reused)
          if (k.normLinear({ out: kPre, x, w: kvw.wk!, weight: kvw.kvNorm!, eps }, sN)) {
            k.normLinear({ out: v2, x, w: kvw.wv!, weight: kvw.kvNorm!, eps }, sN);
          } else k.linear(v2, xn, kvw.wv!);
          append(reshape(kPre, [N, Hkv, D]), vv);
        }
      }
      k.ropeAttention({ out: att, qPre: qIn, kPool: pools.k, vPool: pools.v, positions, ropeBase, q }, meta);
      k.linear(x, reshape(att, [N, H * D]), lw.wo, true); // x += att @ wo^T
      k.normLinear({ out: gu, x, w: lw.wGateUp, weight: lw.ffnNorm, eps }, sN); // (N, 2F)
      k.swigluLinear({ out: x, gu, w: lw.wDown, accumulate: true }, sF); // x += swiglu(gu) @ w_down^T
    }
    if (M === 0) return null;
    // Decode steps sample every row: no gather. Otherwise gather the sampled rows first.
    let xs = x;
    if (M !== N) {
      xs = ws.get("xs", [M, C]);
      be.embedding(xs, x, part(at.sampleRows, [M]));
    }
    const sL = { xs: ws.get("xsn", [M, C]), rstd: ws.get("rstdS", [M]) };
    const logits = ws.get("logits", [M, V]);
    k.normLinear({ out: logits, x: xs, w: w.lmHead, weight: w.norm, eps }, sL); // (M, V)
    return logits;
  }

  /** Runs the step; returns (M, V) logits of the sampling items' last rows, in item order. */
  async run(items: readonly ForwardItem[]): Promise<Float32Array | Float64Array> {
    const { logits } = this.record(items, false);
    this.lastLogits = logits;
    if (logits === null) return new Float32Array(0);
    return (await this.be.read(logits)) as Float32Array | Float64Array;
  }

  /**
   * Runs the step and picks each sampling row's argmax on the device (reads 4 bytes per row; -1
   * marks a NaN/+Inf row: read it with lastLogits()). Falls back to host logits without argmax.
   * `chained`: each item's input token is the previous greedy step's argmax of the same row, taken
   * on the device (the items' `tokens` are ignored), so this step can be recorded and submitted
   * before the previous step's tokens are read: call it without awaiting the previous promise.
   */
  async runGreedy(items: readonly ForwardItem[], opts: { chained?: boolean } = {}): Promise<StepOutput> {
    const { logits, tokens } = this.record(items, true, opts.chained ?? false);
    this.lastLogits = logits;
    if (logits === null) return { kind: "tokens", tokens: new Int32Array(0) };
    if (tokens === null) {
      return { kind: "logits", logits: (await this.be.read(logits)) as Float32Array | Float64Array };
    }
    return { kind: "tokens", tokens: (await this.be.read(tokens)) as Int32Array };
  }

  /** The last step's logits (M, V), valid until the next step. */
  async lastLogitRows(): Promise<Float32Array | Float64Array> {
    if (this.lastLogits === null) return new Float32Array(0);
    return (await this.be.read(this.lastLogits)) as Float32Array | Float64Array;
  }

  dispose(): void {
    this.ws.dispose();
  }
}
