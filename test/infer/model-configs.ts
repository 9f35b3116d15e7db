// Test helper: tiny ModelConfigs for every sharing pattern the KV tests use (see layouts.ts).
// Not a test file.
import type { Backend } from "../../src/backend/backend.js";
import { KvCache } from "../../src/infer/kv-cache.js";
import type { KvDType } from "../../src/infer/kv-layout.js";
import { producerMap } from "../../src/model/sharing.js";
import type { KvSharing, ModelConfig } from "../../src/model/config-types.js";

export function tinyConfig(
  name: string,
  nKvHeads: number,
  kvSharing: KvSharing,
  kvDtype: KvDType,
): ModelConfig {
  return {
    name,
    vocabSize: 37,
    dModel: 16,
    nLayers: 6,
    nHeads: 4,
    nKvHeads,
    headDim: 8,
    ffnDim: 24,
    normEps: 1e-5,
    ropeBase: 10000,
    tiedEmbeddings: false,
    initStd: 0.3,
    maxSeqLen: 32,
    kvSharing,
    kvDtype,
  };
}

export const PATTERNS: [string, number, KvSharing][] = [
  ["MHA", 4, { kind: "uniform", factor: 1 }],
  ["GQA2", 2, { kind: "uniform", factor: 1 }],
  ["MQA", 1, { kind: "uniform", factor: 1 }],
  ["MQA-CLA2", 1, { kind: "uniform", factor: 2 }],
  ["GQA2-CLA3", 2, { kind: "uniform", factor: 3 }],
  ["keep-ends", 2, { kind: "pattern", pattern: "keep-ends" }],
  ["map", 1, { kind: "map", producers: [0, 0, 0, 0, 4, 5] }],
];

/** A paged cache for `cfg` with 4-token blocks (debug: checks every table on each change). */
export function newTestCache(be: Backend, cfg: ModelConfig, numBlocks = 16, debug = true): KvCache {
  const layout = {
    nLayers: cfg.nLayers,
    producers: producerMap(cfg),
    nKvHeads: cfg.nKvHeads,
    headDim: cfg.headDim,
    dtype: cfg.kvDtype,
    blockSize: 4,
  };
  return new KvCache({ backend: be, layout, numBlocks, debug });
}
