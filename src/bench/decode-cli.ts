// The `bench decode` subcommand (registered by src/cli/commands/bench.ts): flags -> runDecodeBench,
// then one JSON object per line (--json) or the device, notes and, last, the table.
// Measurement lives in decode-bench.ts and engine-decode.ts; this file only parses flags and prints.
import type { Command } from "commander";
import type { BackendName } from "../backend/backend.js";
import { ATTENTION_MMA_MODES, BACKEND_NAMES } from "../backend/registry.js";
import { ConfigError } from "../errors.js";
import type { KvDType } from "../infer/kv-layout.js";
import { parseByteSize } from "../model/plan.js";
import { DECODE_DEFAULTS, runDecodeBench } from "./decode-bench.js";
import { decodeTable } from "./decode-table.js";

function list(flag: string, v: string | undefined, fallback: number[]): number[] {
  if (v === undefined) return fallback;
  const xs = v.split(",").map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) {
    throw new ConfigError(`--${flag} "${v}" must be comma-separated positive integers, e.g. 1,16,128`);
  }
  return xs;
}

function runAhead(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 8) {
    throw new ConfigError(
      `--run-ahead "${v}" must be an integer from 0 to 8 (steps in flight beyond the one read)`,
    );
  }
  return n;
}

interface DecodeFlags {
  backend: string;
  configs?: string;
  batches?: string;
  contexts?: string;
  kvDtype: string;
  steps?: string;
  memory: string;
  maxKv: string;
  json?: boolean;
  logits?: boolean;
  submitEvery?: string;
  replay: boolean;
  pipeline?: boolean;
  engine?: boolean;
  runAhead?: string;
  profile?: boolean;
  gpuTime?: boolean;
  attentionMma?: string;
}

export function registerDecodeBench(bench: Command): void {
  bench
    .command("decode")
    .description(
      "decode tokens/s and ms/step of the paged-KV engine per batch and context, bytes moved vs copy bandwidth, largest batch per memory budget",
    )
    .option("--backend <name>", `backend: ${BACKEND_NAMES.join(" | ")}`, "cpu")
    .option("--configs <names>", "comma-separated presets or config files", DECODE_DEFAULTS.configs.join(","))
    .option("--batches <list>", "batch sizes", DECODE_DEFAULTS.batches.join(","))
    .option(
      "--contexts <list>",
      "context lengths (tokens already cached)",
      DECODE_DEFAULTS.contexts.join(","),
    )
    .option("--kv-dtype <dtype>", "KV storage: f32 | f16 | bf16", "f16")
    .option("--steps <n>", "timed decode steps per row", String(DECODE_DEFAULTS.steps))
    .option("--memory <size>", "memory budget of the capacity rows", DECODE_DEFAULTS.memory)
    .option("--max-kv <size>", "skip rows whose KV pools exceed this", "2GiB")
    .option("--json", "one JSON object per line (decode, engine-decode and decode-capacity rows)")
    .option("--logits", "read the logits rows each step (default: device argmax where available)")
    .option("--submit-every <n>", "webgpu: submit every n dispatches within a step (default: runtime's)")
    .option("--no-replay", "webgpu: run every decode step's ops instead of replaying the recorded step")
    .option("--engine", "also decode through the whole engine (LocalEngine.generate, greedy requests)")
    .option(
      "--run-ahead <n>",
      "with --engine: greedy steps the engine submits beyond the one it reads (0 = none; default: the engine's, 2)",
    )
    .option(
      "--profile",
      "webgpu: after each row, time its steps' kernels on the GPU (timestamp queries) and print GPU time per kernel",
    )
    .option(
      "--gpu-time",
      "webgpu: also time each step's passes on the GPU (timestamp queries; the gpu ms column: near ms/step means GPU-bound)",
    )
    .option(
      "--pipeline",
      "greedy on the device: submit step i+1 (tokens chained on the device) before reading step i",
    )
    .option(
      "--attention-mma <mode>",
      `webgpu: the tensor-core paged attention kernel: ${ATTENTION_MMA_MODES.join(" | ")} ` +
        "(default: faster, where it was measured faster)",
    )
    .addHelpText(
      "after",
      [
        "",
        "Columns: ms/step is the mean over the timed steps; p50/max ms the median and longest time between",
        "consecutive steps' results (a max far above the median: a host pause, e.g. garbage collection,",
        "which the mean includes); MB/step and GB/s count weights + K/V read and written, %copy against",
        "the device's copy bandwidth; rec/wait/after ms split the host's part of a step (webgpu).",
      ].join("\n"),
    )
    .action(async (f: DecodeFlags) => {
      if (!BACKEND_NAMES.includes(f.backend as BackendName)) {
        throw new ConfigError(`unknown backend "${f.backend}": use ${BACKEND_NAMES.join(" or ")}`);
      }
      if (!["f32", "f16", "bf16"].includes(f.kvDtype)) {
        throw new ConfigError(`--kv-dtype "${f.kvDtype}" is not a KV dtype: use f32, f16 or bf16`);
      }
      const mma = ATTENTION_MMA_MODES.find((m) => m === f.attentionMma);
      if (f.attentionMma !== undefined && !mma) {
        throw new ConfigError(
          `--attention-mma "${f.attentionMma}" is not a mode: use ${ATTENTION_MMA_MODES.join(", ")}`,
        );
      }
      const out = (s: string) => process.stdout.write(`${s}\n`);
      const res = await runDecodeBench({
        ...DECODE_DEFAULTS,
        backend: f.backend as BackendName,
        configs: (f.configs ?? "").split(",").map((s) => s.trim()),
        batches: list("batches", f.batches, DECODE_DEFAULTS.batches),
        contexts: list("contexts", f.contexts, DECODE_DEFAULTS.contexts),
        kvDtype: f.kvDtype as KvDType,
        steps: list("steps", f.steps, [DECODE_DEFAULTS.steps])[0]!,
        memoryBytes: parseByteSize(f.memory, "--memory"),
        maxKvBytes: parseByteSize(f.maxKv, "--max-kv"),
        readLogits: f.logits ?? false,
        ...(mma ? { attentionMma: mma } : {}),
        replay: f.replay,
        pipeline: f.pipeline ?? false,
        engine: f.engine ?? false,
        ...(f.runAhead !== undefined ? { runAhead: runAhead(f.runAhead) } : {}),
        profile: f.profile ?? false,
        gpuTime: f.gpuTime ?? false,
        ...(f.submitEvery ? { submitEvery: list("submit-every", f.submitEvery, [])[0]! } : {}),
        onRow: (row) => {
          if (f.json) out(JSON.stringify(row));
        },
      });
      if (f.json) return;
      out(
        `device: ${res.device} (${res.detail}); copy bandwidth ${res.copyGbps.toFixed(1)} GB/s (a cast of 64 MiB, ${res.copyMethod})`,
      );
      for (const n of res.notes) out(n);
      for (const line of decodeTable(res.rows)) out(line);
    });
}
