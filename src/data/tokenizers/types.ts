// The tokenizer contract the data layer, trainer and engine share: text <-> ids, the vocabulary
// size, the end-of-text id used between documents, and a serialisable spec (so worker threads can
// rebuild the same tokenizer). Implementations: byte-tokenizer.ts, bpe-tokenizer.ts.
import type { HfTokenizerJson } from "../../io/tokenizer-json.js";

/** Where a tokenizer came from: raw bytes, a BPE we trained, GPT-2's, or any HF tokenizer.json. */
export type TokenizerKind = "bytes" | "bpe" | "gpt2" | "hf";

/** Enough to rebuild a tokenizer in another thread or process. */
export type TokenizerSpec =
  | { kind: "bytes"; specials: string[] }
  | { kind: "bpe" | "gpt2" | "hf"; json: HfTokenizerJson };

export interface TextTokenizer {
  readonly kind: TokenizerKind;
  /** One more than the largest id (vocabulary plus added tokens). */
  readonly vocabSize: number;
  /** The id placed after each document in shards (e.g. <|endoftext|>), or null when none. */
  readonly eotId: number | null;
  /** Ids of `text`, as HF `encode(text, add_special_tokens=False)`; added tokens in text match. */
  encode(text: string): number[];
  /** Text of `ids`, as HF `decode(ids, skip_special_tokens=False)`. */
  decode(ids: ArrayLike<number>): string;
  /** The id of a token string (vocabulary or added token), if any. */
  tokenToId(token: string): number | undefined;
  /** The HF tokenizer.json form, saved next to shards so other tools load the same tokenizer. */
  toHfJson(): HfTokenizerJson;
  spec(): TokenizerSpec;
}

/** The conventional end-of-text token; trained tokenizers and the byte tokenizer add it. */
export const ENDOFTEXT = "<|endoftext|>";
