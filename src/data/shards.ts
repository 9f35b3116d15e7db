// Builds a shard folder from corpora: (optionally) train a BPE, then stream documents through the
// tokenizer (worker threads), route each to train or val by its id, write shards + tokenizer.json +
// manifest.json into a temporary folder and rename it into place (a folder either is complete or
// absent). Single pass over the corpus for encoding; memory stays bounded by the batches in flight.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { writeFileAtomic } from "../io/atomic-file.js";
import { writeTokenizerJson } from "../io/tokenizer-json.js";
import { type CorpusSource, readCorpus, sourceBytes, sourceLabel } from "./corpus.js";
import { EncodePool } from "./encode-pool.js";
import { MANIFEST_FORMAT, MANIFEST_VERSION, type ShardManifest } from "./manifest.js";
import { ShardWriter } from "./shard-writer.js";
import { isValidationDocument } from "./split.js";
import { PieceCounter, trainBpe } from "./tokenizers/bpe-train.js";
import { loadTokenizer } from "./tokenizers/resolve.js";
import type { TextTokenizer } from "./tokenizers/types.js";

/** "bytes" | "gpt2" | a tokenizer.json path | {bpe: vocab size} (trained on the corpus first). */
export type TokenizerChoice = string | { bpe: number; trainBytes?: number };

export interface ShardProgress {
  phase: "train" | "encode";
  bytes: number;
  totalBytes: number;
  tokens: number;
}

export interface BuildShardsOptions {
  sources: CorpusSource[];
  out: string;
  tokenizer: TokenizerChoice;
  valFraction?: number;
  shardTokens?: number;
  /** Stop reading input after this many bytes (over all sources). */
  maxBytes?: number;
  /** Encoding threads; default: available cores (inline when 1). */
  workers?: number;
  /** Replace an existing output folder. */
  force?: boolean;
  onProgress?: (p: ShardProgress) => void;
  /** Recorded verbatim in manifest.options (the CLI passes its flags). */
  recordOptions?: Record<string, unknown>;
}

const BATCH_CHARS = 1 << 20;

export async function buildShards(opts: BuildShardsOptions): Promise<ShardManifest> {
  const out = resolve(opts.out);
  if (existsSync(out) && !opts.force) {
    throw new ConfigError(`output ${opts.out} exists: choose another --out or pass --force to replace it`);
  }
  if (opts.sources.length === 0)
    throw new ConfigError("no input: pass files, folders, .jsonl files or --brown");
  const valFraction = opts.valFraction ?? 0.02;
  if (!(valFraction >= 0 && valFraction < 1))
    throw new ConfigError(`val fraction ${valFraction} must be in [0, 1)`);
  const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  const totalBytes = Math.min(
    maxBytes,
    opts.sources.reduce((s, src) => s + sourceBytes(src), 0),
  );
  const tokenizer = await chooseTokenizer(opts, totalBytes);
  const dtype = tokenizer.vocabSize <= 65536 ? "uint16" : "uint32";

  const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    const shardTokens = opts.shardTokens ?? 50_000_000;
    const writers = {
      train: new ShardWriter({ dir: tmp, split: "train", dtype, shardTokens }),
      val: new ShardWriter({ dir: tmp, split: "val", dtype, shardTokens }),
    };
    const docs = { train: 0, val: 0 };
    const sources: ShardManifest["sources"] = [];
    let bytes = 0;
    const pool = new EncodePool(tokenizer, opts.workers ?? availableParallelism());
    const inFlight: Array<{ p: ReturnType<EncodePool["submit"]>; val: boolean[] }> = [];
    const drain = async (keep: number) => {
      while (inFlight.length > keep) {
        const job = inFlight.shift()!;
        const r = await job.p;
        let off = 0;
        job.val.forEach((isVal, i) => {
          const n = r.lengths[i]!;
          writers[isVal ? "val" : "train"].write(r.ids.subarray(off, off + n));
          docs[isVal ? "val" : "train"]++;
          off += n;
        });
        opts.onProgress?.({
          phase: "encode",
          bytes,
          totalBytes,
          tokens: writers.train.tokens + writers.val.tokens,
        });
      }
    };
    let texts: string[] = [];
    let val: boolean[] = [];
    let chars = 0;
    try {
      for (const src of opts.sources) {
        if (bytes >= maxBytes) break;
        const hash = createHash("sha256");
        const entry = { kind: src.kind, path: sourceLabel(src), documents: 0, bytes: 0, sha256: "" };
        for await (const doc of readCorpus(src)) {
          if (bytes >= maxBytes) break;
          hash.update(doc.id).update("\0").update(doc.text).update("\0");
          entry.documents++;
          entry.bytes += doc.bytes;
          bytes += doc.bytes;
          texts.push(doc.text);
          val.push(isValidationDocument(doc.id, valFraction));
          chars += doc.text.length;
          if (chars >= BATCH_CHARS) {
            inFlight.push({ p: quiet(pool.submit(texts)), val });
            texts = [];
            val = [];
            chars = 0;
            await drain(2 * pool.size);
          }
        }
        entry.sha256 = hash.digest("hex");
        sources.push(entry);
      }
      if (texts.length) inFlight.push({ p: quiet(pool.submit(texts)), val });
      await drain(0);
    } finally {
      await pool.close();
    }
    const shards = { train: writers.train.finish(), val: writers.val.finish() };
    writeTokenizerJson(join(tmp, "tokenizer.json"), tokenizer.toHfJson());
    const manifest: ShardManifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      createdAt: new Date().toISOString(),
      dtype,
      tokenizer: {
        file: "tokenizer.json",
        kind: tokenizer.kind,
        vocabSize: tokenizer.vocabSize,
        eotId: tokenizer.eotId,
        sha256: createHash("sha256")
          .update(readFileSync(join(tmp, "tokenizer.json")))
          .digest("hex"),
        from: typeof opts.tokenizer === "string" ? opts.tokenizer : "bpe",
      },
      sources,
      split: { method: "sha256-of-document-id", valFraction },
      splits: {
        train: { documents: docs.train, tokens: writers.train.tokens, shards: shards.train },
        val: { documents: docs.val, tokens: writers.val.tokens, shards: shards.val },
      },
      options: opts.recordOptions ?? {},
    };
    writeFileAtomic(join(tmp, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
    publish(tmp, out);
    return manifest;
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Marks a promise as handled (it is awaited later, in order) so an early failure is not fatal. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** Moves the finished temporary folder to `out`, replacing an old one only after success. */
function publish(tmp: string, out: string): void {
  if (existsSync(out)) {
    const old = `${tmp}.old`;
    renameSync(out, old);
    renameSync(tmp, out);
    rmSync(old, { recursive: true, force: true });
  } else renameSync(tmp, out);
}

async function chooseTokenizer(opts: BuildShardsOptions, totalBytes: number): Promise<TextTokenizer> {
  const choice = opts.tokenizer;
  if (typeof choice === "string") {
    if (choice === "bpe") throw new ConfigError("--tokenizer bpe needs --vocab <size> (e.g. --vocab 8192)");
    return loadTokenizer(choice);
  }
  // Train on the first `trainBytes` of the corpus (default: all of it, up to 256 MiB).
  const cap = Math.min(choice.trainBytes ?? 256 * 2 ** 20, opts.maxBytes ?? Number.POSITIVE_INFINITY);
  const counter = new PieceCounter();
  let bytes = 0;
  for (const src of opts.sources) {
    for await (const doc of readCorpus(src)) {
      if (bytes >= cap) break;
      counter.add(doc.text);
      bytes += doc.bytes;
      opts.onProgress?.({ phase: "train", bytes, totalBytes: Math.min(cap, totalBytes), tokens: 0 });
    }
    if (bytes >= cap) break;
  }
  return trainBpe({ counts: counter.counts, vocabSize: choice.bpe }).tokenizer;
}
