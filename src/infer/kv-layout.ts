// The KV cache's view of a model: which layers own K/V (producers), heads, head dim, storage dtype
// and block size. Built by the engine from a ModelConfig; the cache never imports model/.
// Contract: a validated layout maps every model layer to a cache layer (llama.cpp map_layer_ids):
// producers get consecutive cache indices, sharing layers resolve to their producer's index.
import { bytesPerElement } from "../backend/tensor.js";
import { ConfigError } from "../errors.js";

export type KvDType = "f32" | "f16" | "bf16";

export interface KvLayout {
  /** L model layers. */
  nLayers: number;
  /** producers[l] = the layer whose K/V layer l reads; producers[p] = p for a producer. Length L. */
  producers: readonly number[];
  /** Hkv K/V heads per producer layer. */
  nKvHeads: number;
  /** D head dim. */
  headDim: number;
  dtype: KvDType;
  /** Tokens per cache block. */
  blockSize: number;
}

/** A validated layout plus the derived layer maps. Immutable. */
export interface ResolvedKvLayout extends KvLayout {
  /** The producer layers, ascending (P of them). */
  readonly kvLayers: readonly number[];
  /** P = kvLayers.length. */
  readonly nKvLayers: number;
  /** cacheLayerOf(l): the cache layer (0..P-1) holding the K/V that model layer l reads. */
  cacheLayerOf(layer: number): number;
  isProducer(layer: number): boolean;
  /** 2 * Hkv * D * P * bytesPerElement: the accounting formula of the paper. */
  bytesPerToken(): number;
  /** Elements in one block of one pool (K or V) of one producer: blockSize * Hkv * D. */
  elementsPerBlock(): number;
}

function positiveInt(field: string, v: unknown, fix: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
    throw new ConfigError(`KV layout ${field} ${String(v)} is not a positive integer: ${fix}`);
  }
  return v;
}

/** Validates a layout (errors name the field, the value and the fix) and derives its layer maps. */
export function resolveKvLayout(layout: KvLayout): ResolvedKvLayout {
  const nLayers = positiveInt("nLayers", layout.nLayers, "give the model's layer count");
  positiveInt("nKvHeads", layout.nKvHeads, "give the model's K/V head count (1 for MQA)");
  positiveInt("headDim", layout.headDim, "give the model's head dim");
  positiveInt("blockSize", layout.blockSize, "use e.g. 16 tokens per block");
  if (layout.dtype !== "f32" && layout.dtype !== "f16" && layout.dtype !== "bf16") {
    throw new ConfigError(
      `KV layout dtype "${String(layout.dtype)}" is not a KV dtype: use f32, f16 or bf16`,
    );
  }
  const producers = [...layout.producers];
  if (producers.length !== nLayers) {
    throw new ConfigError(
      `KV layout producers has ${producers.length} entries but nLayers is ${nLayers}: give one producer per layer`,
    );
  }
  const cacheIndex: number[] = [];
  const kvLayers: number[] = [];
  for (let l = 0; l < nLayers; l++) {
    const p = producers[l]!;
    if (!Number.isInteger(p) || p < 0 || p > l) {
      throw new ConfigError(
        `KV layout producers[${l}] = ${p} is invalid: a layer reads K/V of itself or an earlier layer (0..${l})`,
      );
    }
    if (producers[p] !== p) {
      throw new ConfigError(
        `KV layout producers[${l}] = ${p} but layer ${p} is not a producer (producers[${p}] = ${producers[p]}): ` +
          "point sharing layers at a layer that maps to itself",
      );
    }
    if (l > 0 && p < producers[l - 1]!) {
      throw new ConfigError(
        `KV layout producers must be non-decreasing: producers[${l - 1}] = ${producers[l - 1]} > producers[${l}] = ${p}`,
      );
    }
    if (p === l) {
      cacheIndex.push(kvLayers.length);
      kvLayers.push(l);
    } else {
      cacheIndex.push(cacheIndex[p]!);
    }
  }
  const bpe = bytesPerElement(layout.dtype);
  const checkLayer = (layer: number): void => {
    if (!Number.isInteger(layer) || layer < 0 || layer >= nLayers) {
      throw new ConfigError(`layer ${layer} is out of range: the model has layers 0..${nLayers - 1}`);
    }
  };
  return Object.freeze({
    nLayers,
    producers: Object.freeze(producers),
    nKvHeads: layout.nKvHeads,
    headDim: layout.headDim,
    dtype: layout.dtype,
    blockSize: layout.blockSize,
    kvLayers: Object.freeze(kvLayers),
    nKvLayers: kvLayers.length,
    cacheLayerOf(layer: number): number {
      checkLayer(layer);
      return cacheIndex[layer]!;
    },
    isProducer(layer: number): boolean {
      checkLayer(layer);
      return producers[layer] === layer;
    },
    bytesPerToken(): number {
      return 2 * layout.nKvHeads * layout.headDim * kvLayers.length * bpe;
    },
    elementsPerBlock(): number {
      return layout.blockSize * layout.nKvHeads * layout.headDim;
    },
  });
}
