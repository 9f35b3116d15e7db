// The trainer's view of a shard folder: a resumable stream of (B, T) training batches and a fixed
// list of validation batches (full batches only, so evaluation reuses one activation shape),
// plus the run's copy of the tokenizer. Checks the data fits the model's vocabulary.
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { BatchLoader, type Batch, type LoaderState } from "../data/loader.js";
import type { ShardManifest } from "../data/manifest.js";
import { ConfigError } from "../errors.js";
import type { TokenBatch } from "../model/model.js";
import type { TrainOptions } from "./types.js";

export interface DataSources {
  manifest: ShardManifest;
  train: { next(): TokenBatch; state(): unknown; restore(s: unknown): void };
  valBatches(): TokenBatch[];
  /** Copies the data's tokenizer.json into the run folder (generation needs it). */
  saveTokenizer(outDir: string): void;
  close(): void;
}

const toTokenBatch = (b: Batch): TokenBatch => ({
  ids: b.inputs,
  targets: b.targets,
  batchSize: b.rows,
  seqLen: b.seqLen,
});

export function openDataSources(dir: string, o: TrainOptions, vocabSize: number): DataSources {
  const loader = new BatchLoader({ dir, batchSize: o.batchSize, seqLen: o.seqLen, seed: o.seed });
  const dataVocab = loader.manifest.tokenizer.vocabSize;
  if (dataVocab > vocabSize) {
    loader.close();
    throw new ConfigError(
      `the data in ${dir} uses a ${dataVocab}-token vocabulary but the model has vocabSize ${vocabSize}: ` +
        `use a config with vocabSize >= ${dataVocab}, or re-tokenize with a smaller vocabulary`,
    );
  }
  let val: TokenBatch[] | undefined;
  return {
    manifest: loader.manifest,
    train: {
      next: () => toTokenBatch(loader.next()),
      state: () => loader.state(),
      restore: (s) => loader.restore(s as LoaderState),
    },
    valBatches() {
      if (!val) {
        const all = [...loader.validation({ maxBatches: o.evalBatches + 1 })].map(toTokenBatch);
        const full = all.filter((b) => b.batchSize === o.batchSize).slice(0, o.evalBatches);
        val = full.length > 0 ? full : all.slice(0, 1);
        if (val.length === 0) {
          throw new ConfigError(
            `the validation split of ${dir} has no window of ${o.seqLen + 1} tokens: lower --seq or add data`,
          );
        }
      }
      return val;
    },
    saveTokenizer(outDir) {
      mkdirSync(outDir, { recursive: true });
      copyFileSync(join(dir, loader.manifest.tokenizer.file), join(outDir, "tokenizer.json"));
    },
    close: () => loader.close(),
  };
}
