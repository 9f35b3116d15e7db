// A throwaway shard folder of random token ids for `bench train`: ids uniform over [0, V) (so the
// embedding backward and the loss see a realistic spread of rows), a train split long enough for
// every benchmark step without repeating a window, and one validation batch. The tokenizer.json
// is the byte tokenizer's, present only because runs copy it; these ids mean nothing as text.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { MANIFEST_FORMAT, MANIFEST_VERSION, type ShardManifest } from "../data/manifest.js";
import { ShardWriter } from "../data/shard-writer.js";
import { writeFileAtomic } from "../io/atomic-file.js";
import { ByteTokenizer } from "../data/tokenizers/byte-tokenizer.js";
import { writeTokenizerJson } from "../io/tokenizer-json.js";
import { Rng } from "../model/rng.js";

export interface RandomShardsOptions {
  dir: string;
  vocabSize: number;
  /** Train tokens to write (at least (batches * B) windows of T + 1). */
  trainTokens: number;
  valTokens: number;
  seed: number;
}

function writeSplit(dir: string, split: "train" | "val", n: number, vocab: number, rng: Rng) {
  const dtype = vocab <= 65536 ? "uint16" : "uint32";
  const w = new ShardWriter({ dir, split, dtype, shardTokens: 50_000_000 });
  const chunk = new Uint32Array(1 << 16);
  for (let done = 0; done < n; done += chunk.length) {
    const m = Math.min(chunk.length, n - done);
    for (let i = 0; i < m; i++) chunk[i] = rng.nextU32() % vocab;
    w.write(chunk.subarray(0, m));
  }
  return { documents: 1, tokens: n, shards: w.finish() };
}

/** Writes the folder (manifest last) and returns its manifest. */
export function writeRandomShards(o: RandomShardsOptions): ShardManifest {
  mkdirSync(o.dir, { recursive: true });
  const rng = new Rng(o.seed, 0x7a11);
  const train = writeSplit(o.dir, "train", o.trainTokens, o.vocabSize, rng);
  const val = writeSplit(o.dir, "val", o.valTokens, o.vocabSize, rng);
  const tokPath = join(o.dir, "tokenizer.json");
  writeTokenizerJson(tokPath, new ByteTokenizer().toHfJson());
  const manifest: ShardManifest = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    createdAt: new Date().toISOString(),
    dtype: o.vocabSize <= 65536 ? "uint16" : "uint32",
    tokenizer: {
      file: "tokenizer.json",
      kind: "bytes",
      vocabSize: o.vocabSize,
      eotId: null,
      sha256: createHash("sha256").update(readFileSync(tokPath)).digest("hex"),
      from: "random ids (bench train): not text",
    },
    sources: [],
    split: { method: "sha256-of-document-id", valFraction: 0 },
    splits: { train, val },
    options: { random: true, seed: o.seed },
  };
  writeFileAtomic(join(o.dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
