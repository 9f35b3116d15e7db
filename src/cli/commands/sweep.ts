// `crosslayer sweep SPEC.json [--backend cpu|webgpu] [--out DIR] [--dry-run]`: runs a design-space
// sweep (grid or the paper's LR search) one run after another, resumable, then writes the report.
// `--dry-run` prints the plan only. The logic is src/experiments/; this file parses flags and prints.
import { join } from "node:path";
import type { Command } from "commander";
import type { Backend, BackendName } from "../../backend/backend.js";
import {
  BACKEND_NAMES,
  createBackend,
  createDefaultBackend,
  TENSOR_CORES_FLAG_HELP,
} from "../../backend/registry.js";
import { ConfigError } from "../../errors.js";
import { formatPlan, planSweep } from "../../experiments/plan.js";
import { writeReport } from "../../experiments/report.js";
import { loadResults } from "../../experiments/results.js";
import { runSweep } from "../../experiments/runner.js";
import { loadSweepSpec } from "../../experiments/spec.js";
import { describeRecords, summarizeResults } from "../../experiments/summary.js";
import { formatLr } from "../../experiments/lr-search.js";

interface SweepFlags {
  backend?: string;
  out?: string;
  dryRun?: boolean;
  report: boolean;
  quiet?: boolean;
  timeBudget?: string;
  tensorCores?: boolean;
}

/** "480", "480s", "8m", "1.5h" -> seconds. */
export function parseDurationSeconds(v: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/i.exec(v.trim());
  const n = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[(m[2] ?? "s").toLowerCase() as "s" | "m" | "h"] : NaN;
  if (!(n > 0))
    throw new ConfigError(`${flag} "${v}" is not a duration: give seconds or a unit, e.g. 480, 8m, 1.5h`);
  return n;
}

function parseBackend(v: string | undefined): BackendName | undefined {
  if (v === undefined) return undefined;
  if (!(BACKEND_NAMES as readonly string[]).includes(v)) {
    throw new ConfigError(`--backend "${v}" is not a backend: use one of ${BACKEND_NAMES.join(", ")}`);
  }
  return v as BackendName;
}

export function registerSweep(program: Command): void {
  program
    .command("sweep")
    .description(
      "run a design-space sweep: configs x learning rates x seeds, resumable; then write the report",
    )
    .argument("<spec>", "sweep spec JSON file (see docs/study-tool.md)")
    .option("--backend <name>", `backend: ${BACKEND_NAMES.join(", ")} (default: the best one here)`)
    .option("--tensor-cores", TENSOR_CORES_FLAG_HELP)
    .option("--out <dir>", "sweep folder (default: sweeps/<spec name>)")
    .option("--dry-run", "print the plan (configs, params, KV bytes/token, tokens/param, runs) and exit")
    .option("--no-report", "do not write <out>/report when the sweep finishes")
    .option("--quiet", "no live progress bar per run")
    .option(
      "--time-budget <duration>",
      "start no run that would end after this (e.g. 8m, 1.5h; estimate: the longest run so far); resumable",
    )
    .action(async (specPath: string, f: SweepFlags) => {
      const spec = loadSweepSpec(specPath);
      const backendName = parseBackend(f.backend);
      const budget =
        f.timeBudget === undefined ? undefined : parseDurationSeconds(f.timeBudget, "--time-budget");
      if (f.dryRun) {
        process.stdout.write(`${formatPlan(planSweep(spec))}\n`);
        return;
      }
      const outDir = f.out ?? join("sweeps", spec.name);
      let backend: Backend | undefined;
      // first Ctrl-C: the run in flight checkpoints and the sweep stops (resumable); second: exit now
      const stop = new AbortController();
      const onSigint = () => {
        if (stop.signal.aborted) process.exit(130);
        process.stderr.write(
          "\nstopping: no new run starts; the run in flight checkpoints and stops (Ctrl-C again to quit now)\n",
        );
        stop.abort();
      };
      process.on("SIGINT", onSigint);
      try {
        const outcome = await runSweep(spec, {
          outDir,
          signal: stop.signal,
          quiet: f.quiet ?? false,
          ...(budget === undefined ? {} : { timeBudgetSeconds: budget }),
          backend: async () => {
            const opts = f.tensorCores ? { tensorCores: true } : {};
            backend = backendName ? await createBackend(backendName, opts) : await createDefaultBackend(opts);
            process.stderr.write(`backend: ${backend.name} (${backend.info().device})\n`);
            return backend;
          },
        });
        if (outcome.interrupted) {
          process.stdout.write(`sweep stopped; run the same command again to resume (${outDir})\n`);
          return;
        }
        for (const c of outcome.configs) {
          process.stdout.write(`${c.config}: best LR ${formatLr(c.bestLr)}\n`);
        }
        process.stdout.write(
          `${outcome.trained} runs trained, ${outcome.reused} found finished; results: ${outcome.resultsPath}\n`,
        );
        if (f.report) {
          const recs = loadResults(outcome.resultsPath).filter((r) => r.sweep === spec.name);
          const files = await writeReport(summarizeResults(recs), {
            outDir: join(outDir, "report"),
            title: `Sweep ${spec.name}`,
            source: `${outcome.resultsPath}: ${describeRecords(recs)}`,
          });
          process.stdout.write(`report: ${files.markdown}, ${files.png}\n`);
        }
      } finally {
        process.off("SIGINT", onSigint);
        backend?.dispose();
      }
    });
}
