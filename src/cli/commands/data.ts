// `crosslayer data [inputs...] --tokenizer <bytes|bpe|gpt2|tokenizer.json> --out <dir>`: turns
// corpora into token shards + tokenizer.json + manifest.json (src/data/shards.ts does the work).
// This file parses flags, shows progress on a TTY (quiet otherwise) and prints a summary.
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { type CorpusSource, sourceFromPath } from "../../data/corpus.js";
import { splitGlobList } from "../../data/glob.js";
import { buildShards, type ShardProgress, type TokenizerChoice } from "../../data/shards.js";
import { ConfigError } from "../../errors.js";
import { formatBytes, formatCount, parseByteSize } from "../../model/plan.js";

interface DataFlags {
  out?: string;
  brown?: boolean;
  brownCategories?: string;
  include?: string;
  maxBytes?: string;
  jsonlField: string;
  tokenizer: string;
  vocab: string;
  trainBytes: string;
  valFraction: string;
  shardTokens: string;
  workers?: string;
  force?: boolean;
  json?: boolean;
}

const EXAMPLES = `
Inputs: a folder (read recursively, filtered by --include), a .jsonl/.ndjson file (one
{"text": ...} object per line), or any other file (plain text). With no input, the embedded Brown
corpus (1M words of 1961 American English, 500 documents) is used.

Tokenizers:
  bytes                 256 byte ids + <|endoftext|> (vocab 257)
  bpe                   train a GPT-2-style byte-level BPE on the input (--vocab, --train-bytes)
  gpt2                  GPT-2's 50257-token vocabulary
  path/to/tokenizer.json  any Hugging Face byte-level BPE tokenizer (GPT-2, GPT-NeoX, Llama 3, ...)

Output (--out): train-00000.bin..., val-00000.bin... (uint16 ids when vocab <= 65536, else uint32,
little-endian; documents separated by <|endoftext|>), tokenizer.json, manifest.json. A document goes
to validation when sha256(its id) falls below --val-fraction, so the split is stable.

Examples:
  crosslayer data --brown --tokenizer bpe --vocab 4096 --out data/brown
  crosslayer data ./texts --include '*.md' --tokenizer gpt2 --out data/x
  crosslayer data corpus.jsonl --tokenizer path/to/tokenizer.json --out data/y
  crosslayer data ~/src --include '*.py,*.md,*.rst,*.h' --max-bytes 500MB \\
      --tokenizer bpe --vocab 32768 --train-bytes 200MB --out data/code
`;

export function registerData(program: Command): void {
  program
    .command("data")
    .description("tokenize corpora into binary token shards with a manifest, for training")
    .argument("[inputs...]", "text files, folders or .jsonl files (default: the Brown corpus)")
    .requiredOption("-o, --out <dir>", "output folder (must not exist unless --force)")
    .option("--brown", "add the embedded Brown corpus")
    .option("--brown-categories <list>", "only these Brown categories, e.g. news,fiction")
    .option("--include <globs>", "for folders: file globs, e.g. '*.py,*.md' (default: all files)")
    .option("--max-bytes <size>", "stop after reading this much input, e.g. 500MB")
    .option("--jsonl-field <name>", "JSONL field holding the text", "text")
    .option("-t, --tokenizer <name|path>", "bytes | bpe | gpt2 | path to a tokenizer.json", "bpe")
    .option("--vocab <n>", "vocabulary size when training a BPE", "8192")
    .option("--train-bytes <size>", "BPE training reads at most this much input", "256MiB")
    .option("--val-fraction <f>", "share of documents held out for validation", "0.02")
    .option("--shard-tokens <n>", "tokens per shard file", "50000000")
    .option("--workers <n>", "encoding threads (default: all cores)")
    .option("--force", "replace an existing output folder")
    .option("--json", "print the manifest as JSON")
    .addHelpText("after", EXAMPLES)
    .action(async (inputs: string[], flags: DataFlags) => {
      const progress = progressReporter();
      const manifest = await buildShards({
        sources: sourcesOf(inputs, flags),
        out: flags.out!,
        tokenizer: tokenizerOf(flags),
        valFraction: Number(flags.valFraction),
        shardTokens: positiveInt(flags.shardTokens, "--shard-tokens"),
        maxBytes: flags.maxBytes === undefined ? undefined : parseByteSize(flags.maxBytes, "--max-bytes"),
        workers: flags.workers === undefined ? undefined : positiveInt(flags.workers, "--workers"),
        force: flags.force,
        onProgress: progress?.update,
        recordOptions: { inputs, ...flags },
      }).finally(() => progress?.stop());
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(manifest)}\n`);
        return;
      }
      const { train, val } = manifest.splits;
      const bytes = manifest.sources.reduce((s, x) => s + x.bytes, 0);
      process.stdout.write(
        `${flags.out}: ${formatCount(train.tokens)} train tokens (${train.documents} docs, ${train.shards.length} shards), ` +
          `${formatCount(val.tokens)} val tokens (${val.documents} docs) from ${formatBytes(bytes)}; ` +
          `tokenizer ${manifest.tokenizer.kind} (vocab ${manifest.tokenizer.vocabSize}), ${manifest.dtype}\n`,
      );
    });
}

function sourcesOf(inputs: string[], flags: DataFlags): CorpusSource[] {
  const include = flags.include ? splitGlobList(flags.include) : undefined;
  const maxBytes = flags.maxBytes === undefined ? undefined : parseByteSize(flags.maxBytes, "--max-bytes");
  const sources = inputs.map((p) => sourceFromPath(p, { include, maxBytes, field: flags.jsonlField }));
  if (flags.brown || inputs.length === 0) {
    const categories = flags.brownCategories?.split(",").map((s) => s.trim());
    sources.unshift({ kind: "brown", categories });
  }
  return sources;
}

function tokenizerOf(flags: DataFlags): TokenizerChoice {
  if (flags.tokenizer !== "bpe") return flags.tokenizer;
  return {
    bpe: positiveInt(flags.vocab, "--vocab"),
    trainBytes: parseByteSize(flags.trainBytes, "--train-bytes"),
  };
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v.replace(/_/g, ""));
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`${flag} ${v} must be a positive whole number`);
  return n;
}

/** A progress bar on stderr when it is a terminal; nothing otherwise. */
function progressReporter(): { update: (p: ShardProgress) => void; stop: () => void } | undefined {
  if (!process.stderr.isTTY) return undefined;
  let bar: SingleBar | null = null;
  let phase = "";
  let t0 = Date.now();
  const update = (p: ShardProgress) => {
    if (p.phase !== phase) {
      bar?.stop();
      phase = p.phase;
      t0 = Date.now();
      bar = new SingleBar({
        stream: process.stderr,
        format: `${phase === "train" ? "training BPE" : "tokenizing  "} [{bar}] {percentage}% {done}/{all} {tokens} tokens {rate}`,
        hideCursor: true,
      });
      bar.start(p.totalBytes, 0, { done: "0 B", all: formatBytes(p.totalBytes), tokens: "0", rate: "" });
    }
    const s = (Date.now() - t0) / 1000;
    bar!.update(Math.min(p.bytes, p.totalBytes), {
      done: formatBytes(p.bytes),
      all: formatBytes(p.totalBytes),
      tokens: formatCount(p.tokens),
      rate: p.phase === "encode" && s > 0 ? `${formatCount(p.tokens / s)}/s` : "",
    });
  };
  return { update, stop: () => bar?.stop() };
}
