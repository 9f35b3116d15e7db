// Test helper: the sharing patterns every KV test runs over (MHA, GQA, MQA, CLA2, CLA3, the
// paper's keep-ends pattern, an explicit non-uniform map), as KV layouts built from the model's
// own producer maps (tests may import model/; the cache itself never does). Not a test file.
import type { KvDType, KvLayout } from "../../src/infer/kv-layout.js";
import type { KvSharing } from "../../src/model/config-types.js";
import { producerMap } from "../../src/model/sharing.js";

export interface NamedLayout {
  name: string;
  layout: KvLayout;
  /** P, counted by hand for L = 6. */
  expectedKvLayers: number;
}

const L = 6;
const producers = (kvSharing: KvSharing) => producerMap({ nLayers: L, kvSharing });

export function sharingPatterns(dtype: KvDType, blockSize = 4): NamedLayout[] {
  const base = { nLayers: L, headDim: 8, dtype, blockSize };
  const none = producers({ kind: "uniform", factor: 1 });
  return [
    { name: "MHA", layout: { ...base, nKvHeads: 4, producers: none }, expectedKvLayers: 6 },
    { name: "GQA2", layout: { ...base, nKvHeads: 2, producers: none }, expectedKvLayers: 6 },
    { name: "MQA", layout: { ...base, nKvHeads: 1, producers: none }, expectedKvLayers: 6 },
    {
      name: "MQA-CLA2",
      layout: { ...base, nKvHeads: 1, producers: producers({ kind: "uniform", factor: 2 }) },
      expectedKvLayers: 3,
    },
    {
      name: "GQA2-CLA3",
      layout: { ...base, nKvHeads: 2, producers: producers({ kind: "uniform", factor: 3 }) },
      expectedKvLayers: 2,
    },
    {
      // layer 0 alone, pairs, last layer alone
      name: "keep-ends",
      layout: { ...base, nKvHeads: 2, producers: producers({ kind: "pattern", pattern: "keep-ends" }) },
      expectedKvLayers: 4,
    },
    {
      name: "map",
      layout: { ...base, nKvHeads: 1, producers: producers({ kind: "map", producers: [0, 0, 0, 0, 4, 5] }) },
      expectedKvLayers: 3,
    },
  ];
}
