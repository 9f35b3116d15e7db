// `crosslayer bench`: performance benchmarks (parent command). `bench ops` times the backend's hot
// ops; other subcommands (train, decode) register here: add one import and one SUBCOMMANDS entry.
// Speed is measured here, never in tests. `--json` prints one object per line.
import type { Command } from "commander";
import { BACKEND_NAMES, TENSOR_CORES_FLAG_HELP } from "../../backend/registry.js";
import type { BackendName } from "../../backend/backend.js";
import { ConfigError } from "../../errors.js";
import { type BenchRow, runOpsBench } from "../../bench/ops-bench.js";
import { jsonLine, tableHeader, tableLine } from "../../bench/report.js";
import { registerDecodeBench } from "../../bench/decode-cli.js";
import { registerTrainBench } from "../../bench/train-cli.js";
import { registerStepProfile } from "../../bench/step-profile.js";

interface OpsFlags {
  backend: string;
  json?: boolean;
  quick?: boolean;
  threads?: string;
  peer: boolean;
  tensorCores?: boolean;
}

function registerOps(bench: Command): void {
  bench
    .command("ops")
    .description(
      "time matmul and causal attention forward/backward on a backend, against its ceiling (and onnxruntime on the CPU)",
    )
    .option("--backend <name>", `backend: ${BACKEND_NAMES.join(" | ")}`, "cpu")
    .option("--json", "one JSON object per line: {op, backend, shape, seconds, gflops, ceiling, peer}")
    .option("--quick", "fewer sizes and repetitions")
    .option("--threads <n>", "cpu: kernel threads (default: all cores)")
    .option("--no-peer", "cpu: skip the onnxruntime-node peer")
    .option("--tensor-cores", TENSOR_CORES_FLAG_HELP)
    .action(async (f: OpsFlags) => {
      if (!BACKEND_NAMES.includes(f.backend as BackendName)) {
        throw new ConfigError(`unknown backend "${f.backend}": use ${BACKEND_NAMES.join(" or ")}`);
      }
      if (f.tensorCores && f.backend !== "webgpu") {
        throw new ConfigError(`--tensor-cores is a WebGPU option: use --backend webgpu (got ${f.backend})`);
      }
      const threads = f.threads === undefined ? undefined : Number(f.threads);
      if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1)) {
        throw new ConfigError(`--threads ${f.threads} must be a positive integer`);
      }
      let last: BenchRow | undefined;
      const out = (s: string) => process.stdout.write(`${s}\n`);
      if (!f.json) out(tableHeader());
      const result = await runOpsBench({
        backend: f.backend as BackendName,
        quick: f.quick ?? false,
        peer: f.peer,
        ...(threads ? { threads } : {}),
        ...(f.tensorCores ? { tensorCores: true } : {}),
        onRow: (row) => {
          if (f.json) out(jsonLine(row));
          else out(tableLine(row, row.peer ? last : undefined));
          if (!row.peer) last = row;
        },
      });
      if (!f.json) {
        out(`device: ${result.device} (${result.detail})`);
        for (const n of result.notes) out(n);
      }
    });
}

const SUBCOMMANDS: ((bench: Command) => void)[] = [
  registerOps,
  registerTrainBench,
  registerDecodeBench,
  registerStepProfile,
];

export function registerBench(program: Command): void {
  const bench = program.command("bench").description("performance benchmarks (ops; see each subcommand)");
  for (const register of SUBCOMMANDS) register(bench);
}
