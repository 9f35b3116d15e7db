// ModelConfig validation: a zod schema for the JSON form (camelCase fields, documented defaults) plus
// the semantic checks zod cannot express (nKvHeads | nHeads, even head dim, a valid sharing map).
// Every failure is a ConfigError naming the field, the value and the fix. `loadModelConfig` resolves
// a preset name or reads a JSON file. This file does no accounting and knows no backend.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import type { KvSharing, ModelConfig } from "./config-types.js";
import { findPreset, listPresets } from "./presets/index.js";
import { parseKvSharing, validateProducerMap } from "./sharing.js";

/**
 * Defaults for the optional fields (the paper's 1B recipe where it has one):
 * - `name`: the file name without ".json", else "custom"
 * - `nKvHeads`: nHeads (MHA)            - `headDim`: dModel / nHeads (must divide then)
 * - `normEps`: 1e-5 (RMSNorm)           - `ropeBase`: 10000
 * - `tiedEmbeddings`: false             - `initStd`: 0.01275 (N(0, 0.01275), the paper's init)
 * - `maxSeqLen`: 2048 (the paper's)     - `kvSharing`: 1 (no cross-layer sharing)
 * - `kvDtype`: "f16"
 */
export const CONFIG_DEFAULTS = {
  normEps: 1e-5,
  ropeBase: 10000,
  tiedEmbeddings: false,
  initStd: 0.01275,
  maxSeqLen: 2048,
  kvSharing: 1,
  kvDtype: "f16",
} as const;

const posInt = z.number().int().positive();
const kvSharingInput = z.union([
  posInt,
  z.string(),
  z.array(z.number().int().nonnegative()),
  z.object({ kind: z.literal("uniform"), factor: posInt }),
  z.object({ kind: z.literal("pattern"), pattern: z.string() }),
  z.object({ kind: z.literal("map"), producers: z.array(z.number().int().nonnegative()) }),
]);

/** The JSON form of a ModelConfig. `kvSharing`: a factor (2 = CLA2), a name, a producers array or the object form. */
export const modelConfigSchema = z.object({
  name: z.string().min(1).optional(),
  vocabSize: posInt,
  dModel: posInt,
  nLayers: posInt,
  nHeads: posInt,
  nKvHeads: posInt.optional(),
  headDim: posInt.optional(),
  ffnDim: posInt,
  normEps: z.number().positive().max(1).default(CONFIG_DEFAULTS.normEps),
  ropeBase: z.number().positive().default(CONFIG_DEFAULTS.ropeBase),
  tiedEmbeddings: z.boolean().default(CONFIG_DEFAULTS.tiedEmbeddings),
  initStd: z.number().positive().default(CONFIG_DEFAULTS.initStd),
  maxSeqLen: posInt.default(CONFIG_DEFAULTS.maxSeqLen),
  kvSharing: kvSharingInput.default(CONFIG_DEFAULTS.kvSharing),
  kvDtype: z.enum(["f32", "f16", "bf16"]).default(CONFIG_DEFAULTS.kvDtype),
});

export type ModelConfigInput = z.input<typeof modelConfigSchema>;

const FIELDS = Object.keys(modelConfigSchema.shape);

/** Levenshtein distance (small strings only: field and preset names). */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min(sub, prev[j]! + 1, cur[j - 1]! + 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Up to `max` candidates closest to `word` (case- and separator-insensitive), nearest first. */
export function closestNames(word: string, candidates: readonly string[], max = 3): string[] {
  const norm = (s: string) => s.toLowerCase().replace(/[-_\s]/g, "");
  const w = norm(word);
  const scored = candidates.map((c) => {
    const n = norm(c);
    return { c, d: editDistance(w, n) };
  });
  const limit = Math.max(2, Math.floor(w.length / 3));
  return scored
    .filter((s) => s.d <= limit)
    .sort((a, b) => a.d - b.d)
    .slice(0, max)
    .map((s) => s.c);
}

function didYouMean(word: string, candidates: readonly string[]): string {
  const near = closestNames(word, candidates);
  return near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(" or ")}?)` : "";
}

function describe(v: unknown): string {
  return typeof v === "string" ? `"${v}"` : (JSON.stringify(v) ?? String(v));
}

function divisors(n: number): number[] {
  const out: number[] = [];
  for (let d = 1; d <= n; d++) if (n % d === 0) out.push(d);
  return out;
}

/**
 * Validates `json` (the parsed JSON form) into a full ModelConfig with defaults applied.
 * `source` (a file or preset name) prefixes every error message.
 */
export function parseModelConfig(json: unknown, source?: string): ModelConfig {
  const where = source ? `${source}: ` : "";
  function fail(msg: string): never {
    throw new ConfigError(`${where}${msg}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(`a model config must be a JSON object, got ${describe(json)}`);
  }
  const raw = json as Record<string, unknown>;
  const unknown = Object.keys(raw).filter((k) => !FIELDS.includes(k));
  if (unknown.length) {
    const k = unknown[0]!;
    const camel = k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const hint = FIELDS.includes(camel) ? ` (fields are camelCase: use "${camel}")` : didYouMean(k, FIELDS);
    fail(`unknown field "${k}"${hint}; known fields: ${FIELDS.join(", ")}`);
  }
  const res = modelConfigSchema.safeParse(raw);
  if (!res.success) {
    const lines = res.error.issues.map((iss) => {
      const field = iss.path.join(".") || "(root)";
      const value = iss.path.length ? raw[String(iss.path[0])] : raw;
      if (value === undefined) return `field "${field}" is required (${iss.message})`;
      return `field "${field}" = ${describe(value)} is invalid: ${iss.message}`;
    });
    fail(lines.join("; "));
  }
  const c = res.data;
  const nKvHeads = c.nKvHeads ?? c.nHeads;
  if (c.nHeads % nKvHeads !== 0) {
    fail(
      `nKvHeads ${nKvHeads} does not divide nHeads ${c.nHeads}: choose one of ${divisors(c.nHeads).join(", ")}`,
    );
  }
  let headDim = c.headDim;
  if (headDim === undefined) {
    if (c.dModel % c.nHeads !== 0) {
      fail(
        `nHeads ${c.nHeads} does not divide dModel ${c.dModel}: set "headDim" explicitly or change nHeads`,
      );
    }
    headDim = c.dModel / c.nHeads;
  }
  if (headDim % 2 !== 0) {
    fail(`headDim ${headDim} is odd: RoPE rotates pairs of dimensions; use ${headDim - 1} or ${headDim + 1}`);
  }
  const kvSharing: KvSharing = parseKvSharing(c.kvSharing, c.nLayers, (m) => fail(m));
  if (kvSharing.kind === "map") {
    try {
      validateProducerMap(kvSharing.producers, c.nLayers);
    } catch (e) {
      fail(`kvSharing: ${(e as Error).message}`);
    }
  }
  return {
    name: c.name ?? "custom",
    vocabSize: c.vocabSize,
    dModel: c.dModel,
    nLayers: c.nLayers,
    nHeads: c.nHeads,
    nKvHeads,
    headDim,
    ffnDim: c.ffnDim,
    normEps: c.normEps,
    ropeBase: c.ropeBase,
    tiedEmbeddings: c.tiedEmbeddings,
    initStd: c.initStd,
    maxSeqLen: c.maxSeqLen,
    kvSharing,
    kvDtype: c.kvDtype,
  };
}

/**
 * A preset name (case-insensitive, see `listPresets()`) or a path to a JSON config file.
 * Throws ConfigError with a "did you mean" for near-miss preset names.
 */
export function loadModelConfig(nameOrPath: string): ModelConfig {
  const preset = findPreset(nameOrPath);
  if (preset) return preset;
  const looksLikePath = /[/\\]|\.json$/i.test(nameOrPath);
  let text: string;
  try {
    text = readFileSync(nameOrPath, "utf8");
  } catch {
    if (looksLikePath)
      throw new ConfigError(`cannot read config file "${nameOrPath}": no such readable file`);
    const names = listPresets().map((p) => p.name);
    throw new ConfigError(
      `unknown preset "${nameOrPath}"${didYouMean(nameOrPath, names)}: run "crosslayer inspect --list" ` +
        "for the presets, or pass a path to a JSON config file",
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`config file "${nameOrPath}" is not valid JSON: ${(e as Error).message}`);
  }
  const base = nameOrPath.replace(/^.*[/\\]/, "").replace(/\.json$/i, "");
  const withName =
    typeof json === "object" && json !== null && !("name" in json) ? { ...json, name: base } : json;
  return parseModelConfig(withName, nameOrPath);
}
