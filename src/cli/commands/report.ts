// `crosslayer report RESULTS.jsonl [--out DIR] [--title T]` or `crosslayer report --paper TABLE.csv`:
// the study report (Markdown + CSV table, Pareto frontier, Pareto plot as SVG and PNG) from a sweep's
// results or from the paper's table. The logic is src/experiments/; this file parses flags and prints.
import { dirname, join } from "node:path";
import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import { loadPaperTable } from "../../experiments/paper-table.js";
import { writeReport } from "../../experiments/report.js";
import { loadResultsDetailed } from "../../experiments/results.js";
import { describeRecords, type SummaryRow, summarizeResults } from "../../experiments/summary.js";

interface ReportFlags {
  out?: string;
  title?: string;
  paper?: string;
  sweep?: string;
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("study report: table (Markdown, CSV), Pareto frontier and Pareto plot (SVG, PNG)")
    .argument("[results]", "a sweep's results.jsonl")
    .option("--paper <csv>", "report the paper's table instead (format of data/cla-1b-table1.csv)")
    .option("--sweep <name>", "only the records of this sweep (a results file may hold several)")
    .option("--out <dir>", "output folder (default: report/ beside the results file, or ./report-paper)")
    .option("--title <text>", "report and plot title")
    .action(async (results: string | undefined, f: ReportFlags) => {
      if ((results === undefined) === (f.paper === undefined)) {
        throw new ConfigError("give either a results.jsonl file or --paper TABLE.csv (exactly one)");
      }
      let rows: SummaryRow[];
      let source: string;
      let outDir: string;
      let title: string;
      if (f.paper !== undefined) {
        rows = loadPaperTable(f.paper);
        source = `${f.paper} (the paper's runs at a fixed LR of 3e-4, one seed each)`;
        outDir = f.out ?? "report-paper";
        title = f.title ?? "CLA design space (paper data)";
      } else {
        const path = results!;
        const loaded = loadResultsDetailed(path);
        if (loaded.skipped.length) {
          process.stderr.write(`${path}: skipped unreadable line(s) ${loaded.skipped.join(", ")}\n`);
        }
        const recs = f.sweep ? loaded.records.filter((r) => r.sweep === f.sweep) : loaded.records;
        if (!recs.length) {
          throw new ConfigError(`${path} has no finished runs${f.sweep ? ` of sweep "${f.sweep}"` : ""}`);
        }
        rows = summarizeResults(recs);
        source = `${path}: ${describeRecords(recs)}`;
        outDir = f.out ?? join(dirname(path), "report");
        title = f.title ?? "Design-space study";
      }
      const files = await writeReport(rows, { outDir, title, source });
      const frontier = rows.filter((r) => r.pareto).sort((a, b) => a.kvBytesPerToken16 - b.kvBytesPerToken16);
      process.stdout.write(`Pareto frontier: ${frontier.map((r) => r.config).join(", ")}\n`);
      process.stdout.write(`wrote ${files.markdown}, ${files.csv}, ${files.svg}, ${files.png}\n`);
    });
}
