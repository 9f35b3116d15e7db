// `crosslayer plan <preset|config...> --memory 16GiB --context 4096`: how many concurrent sequences'
// KV caches fit beside the weights, per config side by side. `--json`: one object per config per line.
// The arithmetic is model/plan.ts (planCapacity); this file only parses flags and prints.
import type { Command } from "commander";
import { ConfigError } from "../../errors.js";
import type { KvDtype } from "../../model/accounting.js";
import { loadModelConfig } from "../../model/config.js";
import {
  DEFAULT_BLOCK_SIZE,
  DEFAULT_RESERVE_FRACTION,
  formatBytes,
  formatCount,
  parseByteSize,
  parseTokenCount,
  planCapacity,
} from "../../model/plan.js";

const DTYPES: readonly KvDtype[] = ["f32", "f16", "bf16"];

function parseDtype(flag: string, v: string | undefined): KvDtype | undefined {
  if (v === undefined) return undefined;
  if (!(DTYPES as readonly string[]).includes(v)) {
    throw new ConfigError(`${flag} "${v}" is not a storage dtype: use one of ${DTYPES.join(", ")}`);
  }
  return v as KvDtype;
}

/** "10%" of memory, or a size like "512MiB". */
function parseReserve(v: string | undefined, memoryBytes: number): number | undefined {
  if (v === undefined) return undefined;
  const pct = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(v);
  if (!pct) return parseByteSize(v, "--reserve");
  const f = Number(pct[1]) / 100;
  if (f >= 1) throw new ConfigError(`--reserve ${v} leaves nothing: give a percentage below 100%`);
  return Math.floor(memoryBytes * f);
}

interface PlanFlags {
  memory: string;
  context?: string;
  kvDtype?: string;
  weightsDtype?: string;
  blockSize?: string;
  reserve?: string;
  json?: boolean;
}

export function registerPlan(program: Command): void {
  program
    .command("plan")
    .description(
      "capacity plan: the most concurrent sequences whose KV caches fit in a memory budget, per config",
    )
    .argument("<configs...>", "preset names (see `inspect --list`) or JSON model config files")
    .requiredOption(
      "--memory <size>",
      "memory budget for weights + KV cache + reserve, e.g. 16GiB, 512MiB, 1.5GB",
    )
    .option("--context <tokens>", "tokens per sequence (default: each config's maxSeqLen)")
    .option("--kv-dtype <dtype>", "KV storage dtype: f32, f16, bf16 (default: the config's kvDtype)")
    .option("--weights-dtype <dtype>", "weight storage dtype: f32, f16, bf16", "f16")
    .option(
      "--block-size <tokens>",
      "tokens per KV-cache block; sequences hold whole blocks",
      String(DEFAULT_BLOCK_SIZE),
    )
    .option(
      "--reserve <size|pct>",
      `activation/workspace reserve (default ${DEFAULT_RESERVE_FRACTION * 100}% of --memory)`,
    )
    .option("--json", "one JSON object per config per line")
    .action((configs: string[], f: PlanFlags) => {
      const memoryBytes = parseByteSize(f.memory, "--memory");
      const opts = {
        memoryBytes,
        kvDtype: parseDtype("--kv-dtype", f.kvDtype),
        weightsDtype: parseDtype("--weights-dtype", f.weightsDtype),
        blockSize: parseTokenCount(f.blockSize ?? String(DEFAULT_BLOCK_SIZE), "--block-size"),
        reserveBytes: parseReserve(f.reserve, memoryBytes),
      };
      const plans = configs.map((c) => {
        const cfg = loadModelConfig(c);
        const context = f.context === undefined ? cfg.maxSeqLen : parseTokenCount(f.context, "--context");
        return planCapacity(cfg, { ...opts, context });
      });
      if (f.json) {
        for (const p of plans) process.stdout.write(`${JSON.stringify(p)}\n`);
        return;
      }
      const first = plans[0]!;
      process.stdout.write(
        `memory ${formatBytes(memoryBytes)}, reserve ${formatBytes(first.reserveBytes)}, ` +
          `block ${first.blockSize} tokens, weights ${first.weightsDtype}\n`,
      );
      const head = [
        "config",
        "params",
        "weights",
        "KV dtype",
        "KV B/token",
        "context",
        "KV/seq",
        "max seqs",
        "vs first",
      ];
      const rows = plans.map((p) => [
        p.name,
        formatCount(p.params),
        formatBytes(p.weightsBytes),
        p.kvDtype,
        String(p.kvBytesPerToken),
        String(p.context),
        formatBytes(p.kvBytesPerSequence),
        p.fits ? String(p.maxSequences) : "0 (weights do not fit)",
        first.maxSequences > 0 ? `${(p.maxSequences / first.maxSequences).toFixed(2)}x` : "-",
      ]);
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      const fmt = (r: string[]) =>
        r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
      process.stdout.write(`${[fmt(head), ...rows.map(fmt)].join("\n")}\n`);
    });
}
