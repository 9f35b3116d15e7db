// Test helper: the sharing patterns every KV test runs over (MHA, GQA, MQA, CLA2, CLA3, a
// non-uniform map), as KV layouts. Not a test file itself.
import type { KvDType, KvLayout } from "../../src/infer/kv-layout.js";

/** Uniform CLA-s producer map (s = 1: every layer produces). */
export function uniformProducers(nLayers: number, factor: number): number[] {
  return Array.from({ length: nLayers }, (_, l) => l - (l % factor));
}

export interface NamedLayout {
  name: string;
  layout: KvLayout;
  /** P, counted independently of resolveKvLayout. */
  expectedKvLayers: number;
}

export function sharingPatterns(dtype: KvDType, blockSize = 4): NamedLayout[] {
  const base = { nLayers: 6, headDim: 8, dtype, blockSize };
  return [
    { name: "MHA", layout: { ...base, nKvHeads: 4, producers: uniformProducers(6, 1) }, expectedKvLayers: 6 },
    {
      name: "GQA2",
      layout: { ...base, nKvHeads: 2, producers: uniformProducers(6, 1) },
      expectedKvLayers: 6,
    },
    { name: "MQA", layout: { ...base, nKvHeads: 1, producers: uniformProducers(6, 1) }, expectedKvLayers: 6 },
    {
      name: "MQA-CLA2",
      layout: { ...base, nKvHeads: 1, producers: uniformProducers(6, 2) },
      expectedKvLayers: 3,
    },
    {
      name: "GQA2-CLA3",
      layout: { ...base, nKvHeads: 2, producers: uniformProducers(6, 3) },
      expectedKvLayers: 2,
    },
    {
      // KeepEnds-like: layer 0 alone, pairs, last layer alone.
      name: "non-uniform",
      layout: { ...base, nKvHeads: 2, producers: [0, 1, 1, 3, 3, 5] },
      expectedKvLayers: 4,
    },
  ];
}
