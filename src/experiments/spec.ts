// The sweep spec: a zod schema for the JSON file `crosslayer sweep` reads, and its resolution into
// a SweepSpec (model configs resolved from presets / files / overrides, LR plan, train options).
// Every failure is a ConfigError naming the field, the value and the fix. No training, no file
// writes; the only reads are the spec file and config files it names.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { ConfigError } from "../errors.js";
import type { ModelConfig } from "../model/config-types.js";
import { closestNames, loadModelConfig, parseModelConfig } from "../model/config.js";
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from "../train/types.js";

/** A resolved config of the sweep: the run-folder name and the validated model config. */
export interface SweepConfig {
  name: string;
  /** The preset name or config file it came from. */
  source: string;
  config: ModelConfig;
}

/** A fixed list of LRs (every LR x every seed), or the paper's upward search. */
export type LrPlan =
  | { kind: "grid"; lrs: number[] }
  | { kind: "search"; base: number; factor: number; untilWorse: boolean; max: number };

/** Train options of every run except the two the sweep varies. */
export type SweepTrainOptions = Omit<TrainOptions, "lr" | "seed">;

export interface SweepSpec {
  name: string;
  /** Absolute path of the shard folder (`data` resolved against the spec file's folder). */
  dataDir: string;
  configs: SweepConfig[];
  lr: LrPlan;
  seeds: number[];
  train: SweepTrainOptions;
}

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const fraction = z.number().min(0).lt(1);

const trainSchema = z.strictObject({
  steps: posInt.optional(),
  /** Alternative to steps: the token budget per run; steps = ceil(tokens / tokens per step). */
  tokens: posInt.optional(),
  batchSize: posInt.optional(),
  seqLen: posInt.optional(),
  gradAccum: posInt.optional(),
  warmupFraction: fraction.optional(),
  minLrRatio: z.number().min(0).max(1).optional(),
  beta1: fraction.optional(),
  beta2: fraction.optional(),
  eps: z.number().positive().optional(),
  weightDecay: z.number().nonnegative().optional(),
  clipNorm: z.number().nonnegative().optional(),
  evalEvery: nonNegInt.optional(),
  evalBatches: posInt.optional(),
  checkpointEvery: nonNegInt.optional(),
});

const lrSearchSchema = z.strictObject({
  base: z.number().positive(),
  factor: z.number().gt(1).default(1.5),
  untilWorse: z.boolean().default(true),
  max: posInt.default(8),
});
const lrListSchema = z.array(z.number().positive()).min(1);

const configObjectSchema = z.strictObject({
  preset: z.string().min(1),
  overrides: z.record(z.string(), z.unknown()).default({}),
  name: z.string().min(1).optional(),
});

const specSchema = z.strictObject({
  name: z.string().min(1),
  data: z.string().min(1),
  configs: z.array(z.unknown()).min(1),
  lrs: z.unknown(),
  seeds: z.array(nonNegInt).min(1).default([1]),
  train: z.unknown().optional(),
});

/** Names become folder names: letters, digits, and . _ + - only. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

function describe(v: unknown): string {
  return typeof v === "string" ? `"${v}"` : (JSON.stringify(v) ?? String(v));
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k as string];
  }
  return v;
}

/** Parses `value` with `schema`; failures become a ConfigError naming `prefix`.field and the value. */
function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  prefix: string,
  fail: (m: string) => never,
): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((iss) => {
    const field = [prefix, ...iss.path.map(String)].filter(Boolean).join(".") || "(root)";
    if (iss.code === "unrecognized_keys") {
      const known = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
      const k = iss.keys[0] ?? "";
      const near = closestNames(k, known);
      const hint = near.length ? ` (did you mean "${near[0]}"?)` : "";
      return `unknown field "${[field === "(root)" ? "" : field, k].filter(Boolean).join(".")}"${hint}; known fields: ${known.join(", ")}`;
    }
    const v = valueAt(value, iss.path);
    if (v === undefined) return `field "${field}" is required (${iss.message})`;
    return `field "${field}" = ${describe(v)} is invalid: ${iss.message}`;
  });
  fail(lines.join("; "));
}

function resolveConfig(entry: unknown, i: number, baseDir: string, fail: (m: string) => never): SweepConfig {
  const field = `configs[${i}]`;
  const load = (nameOrPath: string, f: string): ModelConfig => {
    const isPath = /[/\\]|\.json$/i.test(nameOrPath);
    try {
      return loadModelConfig(isPath ? resolve(baseDir, nameOrPath) : nameOrPath);
    } catch (e) {
      fail(`field "${f}": ${(e as Error).message}`);
    }
  };
  if (typeof entry === "string") {
    const config = load(entry, field);
    return { name: config.name, source: entry, config };
  }
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    fail(
      `field "${field}" = ${describe(entry)} is invalid: give a preset name, a config file, ` +
        `or {"preset": "...", "overrides": {...}, "name": "..."}`,
    );
  }
  const e = parseWith(configObjectSchema, entry, field, fail);
  const base = load(e.preset, `${field}.preset`);
  const overridden = Object.keys(e.overrides).length > 0;
  if (overridden && !e.name) {
    fail(`field "${field}.name" is required when overrides are given: it names the runs and the report rows`);
  }
  const name = e.name ?? base.name;
  if (!overridden) return { name, source: e.preset, config: { ...base, name } };
  try {
    const config = parseModelConfig({ ...base, ...e.overrides, name }, `${field}.overrides`);
    return { name, source: e.preset, config };
  } catch (err) {
    fail((err as Error).message);
  }
}

function resolveLr(raw: unknown, fail: (m: string) => never): LrPlan {
  if (raw === undefined) {
    fail(`field "lrs" is required: a list like [3e-4, 6e-4] or a search {"base": 3e-4, "factor": 1.5}`);
  }
  if (Array.isArray(raw)) {
    const lrs = parseWith(lrListSchema, raw, "lrs", fail);
    const dup = lrs.find((lr, i) => lrs.indexOf(lr) !== i);
    if (dup !== undefined) fail(`field "lrs" lists ${dup} twice: give each learning rate once`);
    return { kind: "grid", lrs };
  }
  if (typeof raw !== "object" || raw === null) {
    fail(`field "lrs" = ${describe(raw)} is invalid: give a list of LRs or {"base": 3e-4, "factor": 1.5}`);
  }
  return { kind: "search", ...parseWith(lrSearchSchema, raw, "lrs", fail) };
}

function resolveTrain(raw: unknown, fail: (m: string) => never): SweepTrainOptions {
  if (raw !== null && typeof raw === "object") {
    for (const k of ["lr", "seed"] as const) {
      if (k in raw) fail(`field "train.${k}" is set by the sweep: use "${k}s" at the top level instead`);
    }
  }
  const t = parseWith(trainSchema, raw ?? {}, "train", fail);
  const { lr: _lr, seed: _seed, ...defaults } = DEFAULT_TRAIN_OPTIONS;
  const { tokens, ...rest } = t;
  const opts: SweepTrainOptions = { ...defaults, ...rest };
  const perStep = opts.batchSize * opts.seqLen * opts.gradAccum;
  if (tokens !== undefined) {
    const steps = Math.ceil(tokens / perStep);
    if (t.steps !== undefined && t.steps * perStep !== tokens) {
      fail(
        `fields "train.steps" (${t.steps}) and "train.tokens" (${tokens}) disagree: steps x batchSize x ` +
          `seqLen x gradAccum = ${t.steps * perStep}; give only one of them`,
      );
    }
    opts.steps = steps;
  }
  return opts;
}

/**
 * Validates the parsed JSON of a sweep spec. `source` prefixes errors; `baseDir` resolves `data`
 * and config file paths (default: the current directory).
 */
export function parseSweepSpec(json: unknown, opts: { source?: string; baseDir?: string } = {}): SweepSpec {
  const where = opts.source ? `${opts.source}: ` : "";
  const fail = (msg: string): never => {
    throw new ConfigError(`${where}${msg}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(`a sweep spec must be a JSON object, got ${describe(json)}`);
  }
  const s = parseWith(specSchema, json, "", fail);
  if (!SAFE_NAME.test(s.name)) {
    fail(`field "name" = "${s.name}" is invalid: use letters, digits and . _ + - (it names a folder)`);
  }
  const baseDir = opts.baseDir ?? process.cwd();
  const configs = s.configs.map((c, i) => resolveConfig(c, i, baseDir, fail));
  configs.forEach((c, i) => {
    if (!SAFE_NAME.test(c.name)) {
      fail(
        `field "configs[${i}]" name "${c.name}" is invalid: use letters, digits and . _ + - (it names folders)`,
      );
    }
    const j = configs.findIndex((o) => o.name === c.name);
    if (j !== i)
      fail(
        `fields "configs[${j}]" and "configs[${i}]" are both named "${c.name}": give each a distinct "name"`,
      );
  });
  const dupSeed = s.seeds.find((x, i) => s.seeds.indexOf(x) !== i);
  if (dupSeed !== undefined) fail(`field "seeds" lists ${dupSeed} twice: give each seed once`);
  const train = resolveTrain(s.train, fail);
  for (const c of configs) {
    if (train.seqLen > c.config.maxSeqLen) {
      fail(
        `field "train.seqLen" = ${train.seqLen} exceeds maxSeqLen ${c.config.maxSeqLen} of config "${c.name}": ` +
          `lower seqLen or override maxSeqLen`,
      );
    }
  }
  return {
    name: s.name,
    dataDir: resolve(baseDir, s.data),
    configs,
    lr: resolveLr(s.lrs, fail),
    seeds: s.seeds,
    train,
  };
}

/** Reads and validates a sweep spec file; `data` resolves against the file's folder. */
export function loadSweepSpec(path: string): SweepSpec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ConfigError(`cannot read sweep spec "${path}": no such readable file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`sweep spec "${path}" is not valid JSON: ${(e as Error).message}`);
  }
  return parseSweepSpec(json, { source: path, baseDir: dirname(resolve(path)) });
}

/** Tokens each run trains on: steps x batchSize x seqLen x gradAccum (equal for every run). */
export function tokensPerRun(train: SweepTrainOptions): number {
  return train.steps * train.batchSize * train.seqLen * train.gradAccum;
}
