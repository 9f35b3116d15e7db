// Turns a user's tokenizer choice into a tokenizer: "bytes", "gpt2", or a path to a tokenizer.json
// (or to a folder holding one, e.g. a shard folder). Training a new BPE ("bpe") needs a corpus
// pass and lives in shards.ts. Also rebuilds tokenizers from their spec (worker threads).
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../errors.js";
import { readTokenizerJson } from "../../io/tokenizer-json.js";
import { BpeTokenizer } from "./bpe-tokenizer.js";
import { ByteTokenizer } from "./byte-tokenizer.js";
import { loadGpt2Tokenizer } from "./gpt2.js";
import type { TextTokenizer, TokenizerSpec } from "./types.js";

export function tokenizerFromSpec(spec: TokenizerSpec): TextTokenizer {
  if (spec.kind === "bytes") return new ByteTokenizer(spec.specials);
  return new BpeTokenizer(spec.json, { kind: spec.kind });
}

/** "bytes" | "gpt2" | path to tokenizer.json | folder containing tokenizer.json. */
export function loadTokenizer(choice: string): TextTokenizer {
  if (choice === "bytes") return new ByteTokenizer();
  if (choice === "gpt2") return loadGpt2Tokenizer();
  let path = choice;
  if (existsSync(path) && statSync(path).isDirectory()) path = join(path, "tokenizer.json");
  if (!existsSync(path)) {
    throw new ConfigError(
      `tokenizer ${JSON.stringify(choice)} is neither "bytes", "bpe", "gpt2" nor an existing tokenizer.json path`,
    );
  }
  return new BpeTokenizer(readTokenizerJson(path), { kind: "hf" });
}
