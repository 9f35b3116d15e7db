// Exact accounting of a ModelConfig: parameter counts by component, FLOPs per token (stated
// convention below), and KV-cache bytes per token at 16 bits and at the configured storage dtype.
// Closed-form, from the config and the producer map only; the flat parameter layout lives in
// layout.ts (the model-math side) and a test checks the two agree.
import { bytesPerElement } from "../backend/tensor.js";
import type { ModelConfig } from "./config-types.js";
import { kvLayers, producerMap } from "./sharing.js";

export type KvDtype = ModelConfig["kvDtype"];

/**
 * Parameters by component. Per layer l (pre-norm Llama block, no biases, RMSNorm gains only):
 * Q proj C x H*D, O proj H*D x C, SwiGLU 3 x C x F, Q/input norm C, FFN norm C; producers add
 * K and V projs C x Hkv*D each and a separate K/V-input norm C. Plus embedding V x C, the
 * unembedding V x C unless tied, and the final norm C.
 */
export interface ParamCounts {
  embedding: number;
  /** 0 when tiedEmbeddings. */
  unembedding: number;
  /** Q and O projections over all layers. */
  attentionQo: number;
  /** K and V projections over the producer layers only. */
  attentionKv: number;
  ffn: number;
  /** All RMSNorm gains (Q/input, K/V for producers, FFN, final). */
  norms: number;
  /** Everything except embedding and unembedding. */
  nonEmbedding: number;
  total: number;
}

export function countParams(cfg: ModelConfig): ParamCounts {
  const { vocabSize: V, dModel: C, nLayers: L, nHeads: H, nKvHeads: Hkv, headDim: D, ffnDim: F } = cfg;
  const P = kvLayers(cfg).length;
  const embedding = V * C;
  const unembedding = cfg.tiedEmbeddings ? 0 : V * C;
  const attentionQo = L * 2 * C * H * D;
  const attentionKv = P * 2 * C * Hkv * D;
  const ffn = L * 3 * C * F;
  const norms = L * 2 * C + P * C + C;
  const nonEmbedding = attentionQo + attentionKv + ffn + norms;
  return {
    embedding,
    unembedding,
    attentionQo,
    attentionKv,
    ffn,
    norms,
    nonEmbedding,
    total: embedding + unembedding + nonEmbedding,
  };
}

/**
 * Forward FLOPs for ONE token that attends over `context` keys (a decode step at that context; for a
 * training sequence of length T use the causal average (T + 1) / 2, see trainFlopsPerToken).
 * Convention: a multiply-add is 2 FLOPs; counted are the matmuls (Q/O every layer, K/V producers
 * only, SwiGLU, the unembedding matmul even when tied; the embedding lookup is free) and attention
 * (scores Q.K and the weighted sum of V: 2 x 2 x H x D x context per layer; every layer attends,
 * sharing or not). Norms, RoPE, softmax and the SwiGLU activation are left out (< 1%).
 */
export interface FlopCounts {
  matmul: number;
  attention: number;
  forward: number;
}

export function forwardFlopsPerToken(cfg: ModelConfig, context: number): FlopCounts {
  const { vocabSize: V, dModel: C, nLayers: L, nHeads: H, nKvHeads: Hkv, headDim: D, ffnDim: F } = cfg;
  const P = kvLayers(cfg).length;
  const macs = L * (2 * C * H * D + 3 * C * F) + P * 2 * C * Hkv * D + V * C;
  const matmul = 2 * macs;
  const attention = L * 4 * H * D * context;
  return { matmul, attention, forward: matmul + attention };
}

/** Training FLOPs per token (forward + backward = 3 x forward) for sequences of `seqLen` tokens. */
export function trainFlopsPerToken(cfg: ModelConfig, seqLen: number = cfg.maxSeqLen): number {
  return 3 * forwardFlopsPerToken(cfg, (seqLen + 1) / 2).forward;
}

/** Bytes per element of a KV storage dtype (f32 4, f16/bf16 2). */
export function kvBytesPerElement(dtype: KvDtype): number {
  return bytesPerElement(dtype);
}

/**
 * KV-cache bytes per token: 2 (K and V) x Hkv x D x P x bytes per element, P = the number of
 * producer layers (ceil(L / s) for uniform CLA-s). `dtype` defaults to the config's kvDtype.
 */
export function kvBytesPerToken(cfg: ModelConfig, dtype: KvDtype = cfg.kvDtype): number {
  return 2 * cfg.nKvHeads * cfg.headDim * kvLayers(cfg).length * kvBytesPerElement(dtype);
}

/** KV-cache bytes per token at 16-bit elements (the paper's tables). */
export function kvBytesPerToken16(cfg: ModelConfig): number {
  return kvBytesPerToken(cfg, "f16");
}

/** Everything `crosslayer inspect` reports, as one plain object. */
export interface ModelAccounting {
  name: string;
  params: number;
  paramCounts: ParamCounts;
  context: number;
  flopsPerToken: FlopCounts;
  trainFlopsPerToken: number;
  producerMap: number[];
  kvLayers: number[];
  kvBytesPerToken16: number;
  kvDtype: KvDtype;
  kvBytesPerToken: number;
  /** KV bytes of one sequence of `context` tokens at the storage dtype. */
  kvBytesPerSequence: number;
}

/** The full accounting at `context` keys (default: the config's maxSeqLen). */
export function accountModel(cfg: ModelConfig, opts: { context?: number } = {}): ModelAccounting {
  const context = opts.context ?? cfg.maxSeqLen;
  const map = producerMap(cfg);
  const paramCounts = countParams(cfg);
  const perToken = kvBytesPerToken(cfg);
  return {
    name: cfg.name,
    params: paramCounts.total,
    paramCounts,
    context,
    flopsPerToken: forwardFlopsPerToken(cfg, context),
    trainFlopsPerToken: trainFlopsPerToken(cfg),
    producerMap: map,
    kvLayers: map.filter((p, l) => p === l),
    kvBytesPerToken16: kvBytesPerToken16(cfg),
    kvDtype: cfg.kvDtype,
    kvBytesPerToken: perToken,
    kvBytesPerSequence: perToken * context,
  };
}
