// The preset registry: model families kept as JSON data (one file per family: shared `base` fields
// plus one entry per model), merged and validated through parseModelConfig on first use.
// Names are unique and matched case-insensitively; the paper's 1B models also answer to "1b-<name>".
// No accounting here; no file I/O (the JSON is imported, so it ships with the build).
import type { ModelConfig } from "../config-types.js";
import { parseModelConfig } from "../config.js";
import paper1b from "./paper-1b.json" with { type: "json" };
import paper3b from "./paper-3b.json" with { type: "json" };
import small from "./small.json" with { type: "json" };
import tiny from "./tiny.json" with { type: "json" };

interface PresetFamilyFile {
  family: string;
  description: string;
  base: Record<string, unknown>;
  models: Record<string, unknown>[];
}

export interface Preset {
  readonly name: string;
  /** "1b", "3b", "tiny", "small". */
  readonly family: string;
  readonly familyDescription: string;
  readonly config: ModelConfig;
}

const FAMILIES: readonly PresetFamilyFile[] = [tiny, small, paper1b, paper3b];

let cache: Map<string, Preset> | undefined;

function registry(): Map<string, Preset> {
  if (cache) return cache;
  const map = new Map<string, Preset>();
  for (const fam of FAMILIES) {
    for (const m of fam.models) {
      const config = parseModelConfig({ ...fam.base, ...m }, `preset ${String(m.name)}`);
      const key = config.name.toLowerCase();
      if (map.has(key)) throw new Error(`duplicate preset name ${config.name}`);
      map.set(key, { name: config.name, family: fam.family, familyDescription: fam.description, config });
    }
  }
  cache = map;
  return map;
}

/** Every preset, in family order (tiny, small, 1b, 3b) and file order within a family. */
export function listPresets(): Preset[] {
  return [...registry().values()];
}

/** The preset's config (a fresh copy), or undefined if `name` is not a preset. */
export function findPreset(name: string): ModelConfig | undefined {
  const reg = registry();
  const key = name.trim().toLowerCase();
  const hit = reg.get(key) ?? (key.startsWith("1b-") ? reg.get(key.slice(3)) : undefined);
  return hit ? structuredClone(hit.config) : undefined;
}
