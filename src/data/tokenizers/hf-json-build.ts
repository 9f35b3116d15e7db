// Builds GPT-2-style tokenizer.json objects (BPE model, ByteLevel pre-tokenizer, post-processor and
// decoder) from a vocabulary, merges and special tokens. Used by the byte tokenizer, the trainer and
// the GPT-2 loader, so every tokenizer we save loads in HF tokenizers and in ours alike.
import type { HfTokenizerJson } from "../../io/tokenizer-json.js";

export interface ByteLevelJsonInput {
  vocab: Record<string, number>;
  merges: Array<[string, string]>;
  /** Special tokens with their ids (also put in the vocabulary, as GPT-2's file does). */
  specials: Array<{ content: string; id: number }>;
}

export function byteLevelTokenizerJson(input: ByteLevelJsonInput): HfTokenizerJson {
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  const vocab: Record<string, number> = { ...input.vocab };
  for (const s of input.specials) vocab[s.content] = s.id;
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: input.specials.map((s) => ({
      id: s.id,
      content: s.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...byteLevel },
    post_processor: { type: "ByteLevel", ...byteLevel, trim_offsets: false },
    decoder: { type: "ByteLevel", ...byteLevel },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: input.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
