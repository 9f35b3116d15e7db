// The design-space groups of the paper's Pareto plot, derived from a ModelConfig (or from the
// paper table's group column): baselines (MHA/GQA/MQA, no CLA), MQA+CLA2, GQA+CLA2 (any
// Hkv > 1 with CLA2), CLA>2 (uniform sharing factor above 2) and non-uniform sharing patterns.
import type { ModelConfig } from "../model/config-types.js";

export const CONFIG_GROUPS = ["MHA/GQA/MQA", "MQA+CLA2", "GQA+CLA2", "CLA>2", "non-uniform"] as const;
export type ConfigGroup = (typeof CONFIG_GROUPS)[number];

/** The group of a config: by its K/V sharing across layers, then by its K/V head count. */
export function configGroup(cfg: ModelConfig): ConfigGroup {
  const s = cfg.kvSharing;
  if (s.kind !== "uniform") return "non-uniform";
  if (s.factor === 1) return "MHA/GQA/MQA";
  if (s.factor > 2) return "CLA>2";
  return cfg.nKvHeads === 1 ? "MQA+CLA2" : "GQA+CLA2";
}

/** The paper table's group labels ("baseline", "MQA+CLA>2", "nonuniform", ...) mapped to ours. */
export function groupFromLabel(label: string): ConfigGroup | undefined {
  const key = label
    .trim()
    .toLowerCase()
    .replace(/[\s_-]/g, "");
  if (key === "baseline" || key === "mha/gqa/mqa") return "MHA/GQA/MQA";
  if (key === "mqa+cla2") return "MQA+CLA2";
  if (key === "gqa+cla2" || key === "mha+cla2") return "GQA+CLA2";
  if (/^(mqa\+|gqa\+)?cla>2$/.test(key)) return "CLA>2";
  if (key === "nonuniform") return "non-uniform";
  return undefined;
}
