// `crosslayer train`: trains one config on one shard folder (from `crosslayer data`), writing
// metrics.jsonl, checkpoints/ and result.json under --out; `--resume` continues a run exactly.
import type { Command } from "commander";
import { loadModelConfig } from "../../model/config.js";
import { trainRun } from "../../train/trainer.js";
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from "../../train/types.js";
import {
  BACKEND_FLAG_HELP,
  backendFromFlag,
  intFlag,
  numFlag,
  TENSOR_CORES_FLAG_HELP,
} from "../backend-option.js";

interface TrainFlags {
  config: string;
  data: string;
  out?: string;
  backend?: string;
  steps?: string;
  batch?: string;
  seq?: string;
  accum?: string;
  lr?: string;
  warmup?: string;
  weightDecay?: string;
  clip?: string;
  evalEvery?: string;
  evalBatches?: string;
  checkpointEvery?: string;
  seed?: string;
  resume?: boolean;
  json?: boolean;
  tensorCores?: boolean;
}

export function trainOptionsFromFlags(
  f: TrainFlags,
  base: TrainOptions = DEFAULT_TRAIN_OPTIONS,
): TrainOptions {
  return {
    ...base,
    steps: intFlag("steps", f.steps, base.steps),
    batchSize: intFlag("batch", f.batch, base.batchSize),
    seqLen: intFlag("seq", f.seq, base.seqLen),
    gradAccum: intFlag("accum", f.accum, base.gradAccum),
    lr: numFlag("lr", f.lr, base.lr),
    warmupFraction: numFlag("warmup", f.warmup, base.warmupFraction),
    weightDecay: numFlag("weight-decay", f.weightDecay, base.weightDecay),
    clipNorm: numFlag("clip", f.clip, base.clipNorm),
    evalEvery: intFlag("eval-every", f.evalEvery, base.evalEvery),
    evalBatches: intFlag("eval-batches", f.evalBatches, base.evalBatches),
    checkpointEvery: intFlag("checkpoint-every", f.checkpointEvery, base.checkpointEvery),
    seed: intFlag("seed", f.seed, base.seed),
  };
}

export function registerTrain(program: Command): void {
  const d = DEFAULT_TRAIN_OPTIONS;
  program
    .command("train")
    .description(
      "train a model from scratch on token shards (AdamW, warmup + cosine, checkpoints, exact resume)",
    )
    .requiredOption(
      "-c, --config <preset|file>",
      "a preset name (see `crosslayer inspect --list`) or a config JSON file",
    )
    .requiredOption("-d, --data <dir>", "a shard folder written by `crosslayer data`")
    .option("-o, --out <dir>", "run folder (default runs/<config name>)")
    .option("--backend <name>", BACKEND_FLAG_HELP, "auto")
    .option("--tensor-cores", TENSOR_CORES_FLAG_HELP)
    .option("--steps <n>", "optimizer steps", String(d.steps))
    .option("--batch <n>", "sequences per micro-batch", String(d.batchSize))
    .option("--seq <n>", "tokens per sequence", String(d.seqLen))
    .option("--accum <n>", "micro-batches per step (gradient accumulation)", String(d.gradAccum))
    .option("--lr <x>", "peak learning rate", String(d.lr))
    .option("--warmup <fraction>", "fraction of steps in linear warmup", String(d.warmupFraction))
    .option("--weight-decay <x>", "decoupled weight decay on matrices", String(d.weightDecay))
    .option("--clip <x>", "global gradient-norm clip (0: off)", String(d.clipNorm))
    .option("--eval-every <n>", "validate every n steps (0: only at the end)", String(d.evalEvery))
    .option("--eval-batches <n>", "validation batches per evaluation", String(d.evalBatches))
    .option(
      "--checkpoint-every <n>",
      "checkpoint every n steps (0: only at the end)",
      String(d.checkpointEvery),
    )
    .option("--seed <n>", "seed of the init and the data order", String(d.seed))
    .option("--resume", "continue from the run folder's latest checkpoint")
    .option("--json", "print the result as one JSON object")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  crosslayer data --brown --tokenizer bpe --vocab 4096 --out data/brown\n" +
        "  crosslayer train -c tiny-H16-MQA-CLA2 -d data/brown --steps 300 --lr 1e-3\n" +
        "  crosslayer train -c tiny-H16-MQA-CLA2 -d data/brown --steps 300 --lr 1e-3 --resume   # after a kill",
    )
    .action(async (f: TrainFlags) => {
      const config = loadModelConfig(f.config);
      const backend = await backendFromFlag(f.backend, f.tensorCores ? { tensorCores: true } : {});
      // Ctrl-C: finish the step in flight, write a checkpoint, exit; --resume continues exactly.
      const stop = new AbortController();
      const onSigint = () => {
        if (stop.signal.aborted) process.exit(130);
        process.stderr.write("\nstopping after this step (checkpointing; Ctrl-C again to quit now)\n");
        stop.abort();
      };
      process.on("SIGINT", onSigint);
      try {
        const result = await trainRun({
          signal: stop.signal,
          backend,
          config,
          dataDir: f.data,
          outDir: f.out ?? `runs/${config.name}`,
          options: trainOptionsFromFlags(f),
          resume: Boolean(f.resume),
        });
        if (result.interrupted) {
          process.stdout.write(
            `stopped at step ${result.steps}; continue with the same command plus --resume\n`,
          );
          return;
        }
        if (f.json) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
        } else {
          process.stdout.write(
            `${result.name}: ${result.steps} steps, ${result.tokens.toLocaleString("en-US")} tokens, ` +
              `val loss ${result.finalValLoss.toFixed(4)} (ppl ${result.finalValPpl.toFixed(2)}), ` +
              `${Math.round(result.tokensPerSecond).toLocaleString("en-US")} tokens/s on ${result.backend} (${result.device}${result.tensorCores ? ", tensor cores" : ""})\n` +
              `run folder: ${result.outDir}\n`,
          );
        }
      } finally {
        process.off("SIGINT", onSigint);
        backend.dispose();
      }
    });
}
