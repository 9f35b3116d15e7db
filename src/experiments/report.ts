// The study report: from summary rows (a sweep's results.jsonl or the paper's table) it writes
// report.md (table, frontier, LR sweeps, the plot), summary.csv, pareto.svg and pareto.png into one
// folder. Formatting and file writes only; aggregation is summary.ts, the chart is plot.ts.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatCount } from "../model/plan.js";
import { formatLr } from "./lr-search.js";
import { renderParetoSvg, svgToPng } from "./plot.js";
import type { SummaryRow } from "./summary.js";

export interface ReportOptions {
  outDir: string;
  title?: string;
  /** One line saying where the numbers come from. */
  source?: string;
}

export interface ReportFiles {
  markdown: string;
  csv: string;
  svg: string;
  png: string;
}

/** Rows by KV bytes/token, then perplexity: the order of the table and the frontier. */
export function sortRows(rows: readonly SummaryRow[]): SummaryRow[] {
  return [...rows].sort((a, b) => a.kvBytesPerToken16 - b.kvBytesPerToken16 || a.pplMean - b.pplMean);
}

/** 1.07B, 25.3M, 812k; "?" when unknown. */
export function formatParams(n: number | undefined): string {
  return n === undefined ? "?" : formatCount(n);
}

function fmtPpl(r: SummaryRow): string {
  if (!Number.isFinite(r.pplMean)) return "diverged";
  return r.nSeeds > 1 ? `${r.pplMean.toFixed(2)} ± ${r.pplSd.toFixed(2)}` : r.pplMean.toFixed(2);
}

export function formatMarkdown(
  rows: readonly SummaryRow[],
  opts: Omit<ReportOptions, "outDir"> = {},
): string {
  const sorted = sortRows(rows);
  const out: string[] = [`# ${opts.title ?? "Design-space study"}`, ""];
  if (opts.source) out.push(`Source: ${opts.source}.`, "");
  out.push(
    "Validation perplexity is the mean over seeds at each config's best learning rate, ± the sample " +
      "standard deviation when there are several seeds. KV bytes per token are at 16 bits. ★ marks the " +
      "Pareto frontier: no other config has both no more KV bytes and no higher perplexity (and one strictly).",
    "",
    "| config | group | params | KV bytes/token | best LR | val ppl | seeds | Pareto |",
    "|---|---|---:|---:|---:|---:|---:|:---:|",
  );
  for (const r of sorted) {
    const edge = r.bestLrAtEdge === "high" ? " ↑" : r.bestLrAtEdge === "low" ? " ↓" : "";
    const lr = r.bestLr === undefined ? "?" : `${formatLr(r.bestLr)}${edge}`;
    out.push(
      `| ${r.config} | ${r.group} | ${formatParams(r.params)} | ${r.kvBytesPerToken16} | ${lr} | ` +
        `${fmtPpl(r)} | ${r.nSeeds} | ${r.pareto ? "★" : ""} |`,
    );
  }
  if (sorted.some((r) => r.bestLrAtEdge)) {
    out.push(
      "",
      "↑ / ↓: the best LR is the largest / smallest one tried; the optimum may lie beyond it " +
        "(raise `lrs.max`, or lower `lrs.base`).",
    );
  }
  const frontier = sorted.filter((r) => r.pareto);
  out.push("", "## Pareto frontier", "", "From the smallest KV cache to the largest:", "");
  for (const r of frontier)
    out.push(`- ${r.config} (${r.group}): ${r.kvBytesPerToken16} B/token, val ppl ${fmtPpl(r)}`);
  const swept = sorted.filter((r) => r.lrs.length > 1);
  if (swept.length) {
    out.push(
      "",
      "## Learning-rate sweeps",
      "",
      "Each config's LRs are compared on the seeds they all have (\"compared\"); the best LR's other " +
        "seeds enter only the mean over all its seeds.",
      "",
      "| config | LR | val ppl (compared seeds) | val ppl (mean, all seeds) | seeds |",
      "|---|---:|---:|---:|---|",
    );
    for (const r of swept) {
      for (const l of r.lrs) {
        const best = l.lr === r.bestLr ? " (best)" : "";
        const ppl = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : "diverged");
        const compared = `${ppl(l.pplCompared)} (seed${r.comparedSeeds.length > 1 ? "s" : ""} ${r.comparedSeeds.join(", ")})`;
        out.push(
          `| ${r.config} | ${formatLr(l.lr)}${best} | ${compared} | ${ppl(l.pplMean)} | ${l.seeds.join(", ")} |`,
        );
      }
    }
  }
  out.push("", "## Pareto plot", "", "![Validation perplexity vs KV bytes per token](pareto.svg)", "");
  return out.join("\n");
}

const CSV_HEAD = [
  "config",
  "group",
  "params",
  "kv_bytes_per_token_16bit",
  "best_lr",
  "val_ppl_mean",
  "val_ppl_sd",
  "val_ppl_min",
  "val_ppl_max",
  "n_seeds",
  "pareto",
];

function csvCell(v: string | number | boolean | undefined): string {
  if (v === undefined) return "";
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatCsv(rows: readonly SummaryRow[]): string {
  const lines = sortRows(rows).map((r) =>
    [
      r.config,
      r.group,
      r.params,
      r.kvBytesPerToken16,
      r.bestLr,
      r.pplMean,
      r.pplSd,
      r.pplMin,
      r.pplMax,
      r.nSeeds,
      r.pareto,
    ]
      .map(csvCell)
      .join(","),
  );
  return `${[CSV_HEAD.join(","), ...lines].join("\n")}\n`;
}

/** Writes report.md, summary.csv, pareto.svg and pareto.png into `opts.outDir`. */
export async function writeReport(rows: readonly SummaryRow[], opts: ReportOptions): Promise<ReportFiles> {
  mkdirSync(opts.outDir, { recursive: true });
  const files: ReportFiles = {
    markdown: join(opts.outDir, "report.md"),
    csv: join(opts.outDir, "summary.csv"),
    svg: join(opts.outDir, "pareto.svg"),
    png: join(opts.outDir, "pareto.png"),
  };
  const svg = await renderParetoSvg(rows, opts.title ? { title: opts.title } : {});
  writeFileSync(files.markdown, formatMarkdown(rows, opts));
  writeFileSync(files.csv, formatCsv(rows));
  writeFileSync(files.svg, svg);
  writeFileSync(files.png, svgToPng(svg));
  return files;
}
