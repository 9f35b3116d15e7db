// Aggregation of run records into one row per config: the best LR (compared on the seeds every
// LR of that config has, so a searched LR with one seed is not compared against the mean of
// five), val ppl mean / sample sd / range over seeds at that LR, and the Pareto flag over
// (KV bytes/token, mean ppl). Pure; rendering is report.ts / plot.ts.
import { formatCount } from "../model/plan.js";
import { type ConfigGroup, configGroup } from "./groups.js";
import { paretoFrontier } from "./pareto.js";
import type { ResultRecord } from "./results.js";

export interface LrSummary {
  lr: number;
  /** Mean over every seed run at this LR. */
  pplMean: number;
  /** Mean over the seeds every LR of the config has: the figure the best LR was picked on. */
  pplCompared: number;
  seeds: number[];
}

export interface SummaryRow {
  config: string;
  group: ConfigGroup;
  /** Undefined when unknown (a paper-table row without a matching preset). */
  params?: number;
  kvBytesPerToken16: number;
  bestLr?: number;
  pplMean: number;
  /** Sample standard deviation over seeds (0 with one seed). */
  pplSd: number;
  pplMin: number;
  pplMax: number;
  nSeeds: number;
  /** The seeds every LR of this config has (the LRs are compared on these; all seeds if none is shared). */
  comparedSeeds: number[];
  /** Every LR run for this config, ascending. */
  lrs: LrSummary[];
  /** When several LRs were run and the best is the largest ("high") or smallest ("low") of them. */
  bestLrAtEdge?: "low" | "high";
  /** Not dominated in (KV bytes/token, mean ppl); set by markPareto. */
  pareto: boolean;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (n - 1); 0 for fewer than two values. */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Diverged runs (NaN / infinite ppl) rank last. */
function finiteOr(x: number): number {
  return Number.isFinite(x) ? x : Number.POSITIVE_INFINITY;
}

/**
 * The best LR among one config's records: lowest mean ppl over the seeds that every LR has (all
 * seeds when no seed is shared); ties go to the LR with more seeds, then the smaller LR.
 */
export function pickBestLr(records: readonly ResultRecord[]): number | undefined {
  const byLr = groupBy(records, (r) => r.lr);
  if (byLr.size === 0) return undefined;
  const score = comparedScore(records);
  const ranked = [...byLr.entries()].sort(
    ([la, a], [lb, b]) => score(a) - score(b) || b.length - a.length || la - lb,
  );
  return ranked[0]![0];
}

/** The seeds every LR of one config's records has. */
function sharedSeeds(records: readonly ResultRecord[]): number[] {
  const seedSets = [...groupBy(records, (r) => r.lr).values()].map((rs) => new Set(rs.map((r) => r.seed)));
  if (!seedSets.length) return [];
  return [...seedSets[0]!].filter((s) => seedSets.every((set) => set.has(s))).sort((a, b) => a - b);
}

/** Mean ppl of one LR's records over the shared seeds (all of them when none is shared). */
function comparedScore(records: readonly ResultRecord[]): (rs: readonly ResultRecord[]) => number {
  const common = sharedSeeds(records);
  return (rs) => {
    const use = common.length ? rs.filter((r) => common.includes(r.seed)) : rs;
    return mean(use.map((r) => finiteOr(r.finalValPpl)));
  };
}

function groupBy<K, T>(xs: readonly T[], key: (x: T) => K): Map<K, T[]> {
  const m = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = m.get(k);
    if (list) list.push(x);
    else m.set(k, [x]);
  }
  return m;
}

/** Marks `pareto` on rows (in place) and returns them; minimise both KV bytes and mean ppl. */
export function markPareto<R extends { kvBytesPerToken16: number; pplMean: number; pareto: boolean }>(
  rows: R[],
): R[] {
  const flags = paretoFrontier(rows.map((r) => ({ x: r.kvBytesPerToken16, y: finiteOr(r.pplMean) })));
  rows.forEach((r, i) => {
    r.pareto = flags[i]! && Number.isFinite(r.pplMean);
  });
  return rows;
}

/** "15 runs, 7.68k tokens each, cpu (device)": what a set of records is, for report headers. */
export function describeRecords(records: readonly ResultRecord[]): string {
  const tokens = [...new Set(records.map((r) => r.tokens))];
  const devices = [...new Set(records.map((r) => `${r.backend} (${r.device})`))];
  const tok = tokens.length === 1 ? `${formatCount(tokens[0]!)} tokens each` : "unequal token budgets";
  return `${records.length} runs, ${tok}, on ${devices.join(", ")}`;
}

/** One row per config (first-seen order), Pareto flags set. */
export function summarizeResults(records: readonly ResultRecord[]): SummaryRow[] {
  const rows: SummaryRow[] = [];
  for (const [config, rs] of groupBy(records, (r) => r.config)) {
    const last = rs[rs.length - 1]!;
    const bestLr = pickBestLr(rs)!;
    const atBest = rs.filter((r) => r.lr === bestLr);
    const ppls = atBest.map((r) => r.finalValPpl);
    const score = comparedScore(rs);
    const shared = sharedSeeds(rs);
    const lrs = [...groupBy(rs, (r) => r.lr).entries()]
      .sort(([a], [b]) => a - b)
      .map(([lr, list]) => ({
        lr,
        pplMean: mean(list.map((r) => r.finalValPpl)),
        pplCompared: score(list),
        seeds: list.map((r) => r.seed),
      }));
    const edge =
      lrs.length < 2
        ? undefined
        : bestLr === lrs[lrs.length - 1]!.lr
          ? "high"
          : bestLr === lrs[0]!.lr
            ? "low"
            : undefined;
    rows.push({
      ...(edge ? { bestLrAtEdge: edge } : {}),
      config,
      group: configGroup(last.modelConfig),
      params: last.params,
      kvBytesPerToken16: last.kvBytesPerToken16,
      bestLr,
      pplMean: mean(ppls),
      pplSd: sampleSd(ppls),
      pplMin: Math.min(...ppls),
      pplMax: Math.max(...ppls),
      nSeeds: atBest.length,
      comparedSeeds: shared.length ? shared : [...new Set(rs.map((r) => r.seed))].sort((a, b) => a - b),
      lrs,
      pareto: false,
    });
  }
  return markPareto(rows);
}
