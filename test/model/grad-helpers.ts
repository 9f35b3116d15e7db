// Shared helpers for the model tests: tiny configs (validated through parseModelConfig), random
// token batches, and a cpu backend factory. Test support only; no assertions live here.
import type { Backend } from "../../src/backend/backend.js";
import { createBackend } from "../../src/backend/registry.js";
import type { ModelConfig } from "../../src/model/config-types.js";
import { parseModelConfig } from "../../src/model/config.js";
import { Rng } from "../../src/model/rng.js";

/** A tiny config: V 11, C 8, L 4, H 4, D 4, F 12 unless overridden. */
export function tinyConfig(over: Record<string, unknown> = {}): ModelConfig {
  return parseModelConfig({
    name: "test-tiny",
    vocabSize: 11,
    dModel: 8,
    nLayers: 4,
    nHeads: 4,
    nKvHeads: 4,
    headDim: 4,
    ffnDim: 12,
    initStd: 0.4,
    maxSeqLen: 16,
    kvDtype: "f32",
    ...over,
  });
}

/** Random ids and next-token targets (B, T) in [0, V); `ignore` rows get target -1. */
export function randomBatch(V: number, B: number, T: number, seed: number, ignore: number[] = []) {
  const rng = new Rng(seed, 7);
  const ids = new Int32Array(B * T);
  const targets = new Int32Array(B * T);
  for (let i = 0; i < B * T; i++) {
    ids[i] = rng.nextU32() % V;
    targets[i] = rng.nextU32() % V;
  }
  for (const i of ignore) targets[i] = -1;
  return { ids, targets, batchSize: B, seqLen: T };
}

export function cpuBackend(precision: "f32" | "f64"): Promise<Backend> {
  return createBackend("cpu", { precision, threads: 1 });
}
