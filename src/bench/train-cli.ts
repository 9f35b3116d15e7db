// The `bench train` subcommand (registered by src/cli/commands/bench.ts): flags -> runTrainBench,
// then one JSON object per line (--json) or the device, notes and, last, a table.
// Measurement lives in train-bench.ts; this file only parses flags and prints.
import type { Command } from "commander";
import type { BackendName } from "../backend/backend.js";
import { BACKEND_NAMES, TENSOR_CORES_FLAG_HELP } from "../backend/registry.js";
import { ConfigError } from "../errors.js";
import { TRAIN_BENCH_DEFAULTS, type TrainBenchRow, runTrainBench } from "./train-bench.js";

interface TrainFlags {
  backend: string;
  config?: string;
  batch?: string;
  seq?: string;
  steps?: string;
  warmup?: string;
  threads?: string;
  tensorCores?: boolean;
  json?: boolean;
}

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`--${name} ${v} must be a non-negative integer`);
  return n;
}

const COLS: [string, number][] = [
  ["backend", 8],
  ["config", 20],
  ["params", 8],
  ["BxT", 9],
  ["ms/step", 9],
  ["tokens/s", 10],
  ["GFLOP/s", 9],
  ["%ceil", 6],
  ["loss", 7],
];

export function trainTable(rows: readonly TrainBenchRow[]): string[] {
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 ? c.padEnd(COLS[i]![1]) : c.padStart(COLS[i]![1])));
  const out = [line(COLS.map(([n]) => n)).join(" ")];
  for (const r of rows) {
    const cells = [
      r.backend,
      r.config,
      `${(r.params / 1e6).toFixed(2)}M`,
      `${r.batch}x${r.seq}`,
      (r.medianStepSeconds * 1e3).toPrecision(4),
      r.tokensPerSecond.toFixed(0),
      r.gflops.toFixed(1),
      r.mfu !== undefined ? `${(100 * r.mfu).toFixed(1)}%` : "",
      r.finalLoss.toFixed(3),
    ];
    out.push(line(cells).join(" "));
  }
  return out;
}

export function registerTrainBench(bench: Command): void {
  const d = TRAIN_BENCH_DEFAULTS;
  bench
    .command("train")
    .description(
      "tokens/s of real training steps (forward + backward + AdamW with clipping, through the trainer) " +
        "on random ids, median after warm-up, with model FLOP/s against the device ceiling",
    )
    .option("--backend <name>", `backend: ${BACKEND_NAMES.join(" | ")}`, "cpu")
    .option(
      "--config <preset>",
      `model preset (default: ${d.webgpu.config} on webgpu, ${d.cpu.config} on cpu)`,
    )
    .option("--batch <n>", `sequences per step (default: ${d.webgpu.batch} webgpu, ${d.cpu.batch} cpu)`)
    .option("--seq <n>", `tokens per sequence (default: ${d.webgpu.seq} webgpu, ${d.cpu.seq} cpu)`)
    .option("--steps <n>", `timed steps (default: ${d.webgpu.steps} webgpu, ${d.cpu.steps} cpu)`)
    .option("--warmup <n>", `untimed steps first (default: ${d.webgpu.warmup} webgpu, ${d.cpu.warmup} cpu)`)
    .option("--threads <n>", "cpu: kernel threads (default: all cores)")
    .option("--tensor-cores", TENSOR_CORES_FLAG_HELP)
    .option("--json", "one JSON object per line")
    .action(async (f: TrainFlags) => {
      if (!BACKEND_NAMES.includes(f.backend as BackendName)) {
        throw new ConfigError(`unknown backend "${f.backend}": use ${BACKEND_NAMES.join(" or ")}`);
      }
      const opt = (name: string, v: string | undefined) => {
        const n = num(name, v);
        return n === undefined ? {} : { [name]: n };
      };
      const r = await runTrainBench({
        backend: f.backend as BackendName,
        ...(f.config ? { config: f.config } : {}),
        ...opt("batch", f.batch),
        ...opt("seq", f.seq),
        ...opt("steps", f.steps),
        ...opt("warmup", f.warmup),
        ...opt("threads", f.threads),
        ...(f.tensorCores ? { tensorCores: true } : {}),
        onStep: (step, total, seconds) =>
          process.stderr.write(`bench train: step ${step}/${total} ${(seconds * 1e3).toFixed(0)} ms\n`),
      });
      const out = (s: string) => process.stdout.write(`${s}\n`);
      if (f.json) {
        out(JSON.stringify(r.row));
        return;
      }
      const s = r.row;
      out(
        `device: ${s.device} (${r.detail}); ${s.steps} timed steps after ${s.warmup} warm-up, median; ` +
          `first step ${(s.firstStepSeconds * 1e3).toFixed(0)} ms, range ${(s.minStepSeconds * 1e3).toFixed(0)}-${(s.maxStepSeconds * 1e3).toFixed(0)} ms`,
      );
      for (const n of r.notes) out(n);
      for (const l of trainTable([r.row])) out(l);
    });
}
