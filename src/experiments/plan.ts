// The plan of a sweep before it runs (`crosslayer sweep --dry-run`): run folder names, per-config
// parameters, KV bytes/token and tokens per parameter, and how many runs the grid or LR search
// takes. Pure except for an optional read of the data folder's manifest.
import { join } from "node:path";
import { countParams, kvBytesPerToken16 } from "../model/accounting.js";
import { readManifest } from "../data/manifest.js";
import { formatCount } from "../model/plan.js";
import { type ConfigGroup, configGroup } from "./groups.js";
import { formatLr, searchRunBounds } from "./lr-search.js";
import { type SweepSpec, tokensPerRun } from "./spec.js";

/** The run folder name of (config, lr, seed): `small-H64-MQA__lr4.5e-4__s1`. */
export function runName(config: string, lr: number, seed: number): string {
  return `${config}__lr${formatLr(lr)}__s${seed}`;
}

/** `<out>/runs/<run name>`. */
export function runDir(outDir: string, config: string, lr: number, seed: number): string {
  return join(outDir, "runs", runName(config, lr, seed));
}

export interface PlanRow {
  config: string;
  group: ConfigGroup;
  params: number;
  nonEmbeddingParams: number;
  kvBytesPerToken16: number;
  tokensPerParam: number;
}

export interface SweepPlan {
  name: string;
  dataDir: string;
  /** Training tokens in the data folder, when its manifest could be read. */
  dataTrainTokens?: number;
  /** Problems worth knowing before training: unreadable data, vocabulary too small, repeated data. */
  warnings: string[];
  tokensPerRun: number;
  rows: PlanRow[];
  seeds: number[];
  lrText: string;
  /** Total runs: exact for a grid, [fewest, most] for an LR search. */
  runs: [number, number];
}

export function planSweep(spec: SweepSpec, opts: { readData?: boolean } = {}): SweepPlan {
  const tokens = tokensPerRun(spec.train);
  const rows = spec.configs.map((c) => {
    const p = countParams(c.config);
    return {
      config: c.name,
      group: configGroup(c.config),
      params: p.total,
      nonEmbeddingParams: p.nonEmbedding,
      kvBytesPerToken16: kvBytesPerToken16(c.config),
      tokensPerParam: tokens / p.total,
    };
  });
  const nConf = spec.configs.length;
  const nSeeds = spec.seeds.length;
  let runs: [number, number];
  let lrText: string;
  if (spec.lr.kind === "grid") {
    const n = nConf * spec.lr.lrs.length * nSeeds;
    runs = [n, n];
    lrText = `grid: ${spec.lr.lrs.map(formatLr).join(", ")} x seeds ${spec.seeds.join(", ")}`;
  } else {
    const [lo, hi] = searchRunBounds(spec.lr);
    runs = [nConf * (lo + nSeeds - 1), nConf * (hi + nSeeds - 1)];
    lrText =
      `search from ${formatLr(spec.lr.base)} by x${spec.lr.factor} ` +
      `(${spec.lr.untilWorse ? "until worse" : "all steps"}, at most ${spec.lr.max} up, one down if the first up is worse) ` +
      `on seed ${spec.seeds[0]}; seeds ${spec.seeds.slice(1).join(", ") || "(none)"} at the best LR`;
  }
  const plan: SweepPlan = {
    warnings: [],
    name: spec.name,
    dataDir: spec.dataDir,
    tokensPerRun: tokens,
    rows,
    seeds: spec.seeds,
    lrText,
    runs,
  };
  if (opts.readData !== false) {
    try {
      const m = readManifest(spec.dataDir);
      plan.dataTrainTokens = m.splits.train.tokens;
      const small = spec.configs.filter((c) => c.config.vocabSize < m.tokenizer.vocabSize).map((c) => c.name);
      if (small.length) {
        plan.warnings.push(
          `the data's vocabulary has ${m.tokenizer.vocabSize} tokens, more than vocabSize of ${small.join(", ")}: ` +
            `training them will fail; override "vocabSize"`,
        );
      }
      if (tokens > m.splits.train.tokens) {
        plan.warnings.push(
          `each run reads ${(tokens / m.splits.train.tokens).toFixed(1)} epochs of the training data: more data, or fewer steps, keeps runs from repeating it`,
        );
      }
    } catch (e) {
      plan.warnings.push((e as Error).message);
    }
  }
  return plan;
}

/** The plan as the text `--dry-run` prints. */
export function formatPlan(plan: SweepPlan): string {
  const out: string[] = [];
  out.push(`sweep ${plan.name}: data ${plan.dataDir}`);
  const epochs = plan.dataTrainTokens
    ? ` (${(plan.tokensPerRun / plan.dataTrainTokens).toFixed(2)} epochs of ${formatCount(plan.dataTrainTokens)} train tokens)`
    : "";
  out.push(`tokens per run: ${formatCount(plan.tokensPerRun)}${epochs}`);
  out.push(`learning rates: ${plan.lrText}`);
  const head = ["config", "group", "params", "non-emb", "KV B/token", "tokens/param"];
  const body = plan.rows.map((r) => [
    r.config,
    r.group,
    formatCount(r.params),
    formatCount(r.nonEmbeddingParams),
    String(r.kvBytesPerToken16),
    r.tokensPerParam.toFixed(2),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  out.push(line(head), ...body.map(line));
  const [lo, hi] = plan.runs;
  out.push(
    `runs: ${lo === hi ? lo : `${lo} to ${hi}`} (${plan.rows.length} configs, ${plan.seeds.length} seeds)`,
  );
  for (const w of plan.warnings) out.push(`warning: ${w}`);
  return out.join("\n");
}
