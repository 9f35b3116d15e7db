// Our byte-level BPE against an independent implementation, Hugging Face tokenizers.js, on the same
// tokenizer.json: identical ids (and decoded text) over real text, for a BPE trained here, GPT-2's
// vocabulary, and a Llama-3-style pipeline (Split regex with (?i:...), ByteLevel, ignore_merges).
import assert from "node:assert/strict";
import { test } from "node:test";
import { Tokenizer } from "@huggingface/tokenizers";
import { BpeTokenizer } from "../../src/data/tokenizers/bpe-tokenizer.js";
import { PieceCounter, trainBpe } from "../../src/data/tokenizers/bpe-train.js";
import { gpt2TokenizerJson } from "../../src/data/tokenizers/gpt2.js";
import type { HfTokenizerJson } from "../../src/io/tokenizer-json.js";
import { brownTexts, TRICKY_TEXTS } from "./texts.js";

// tokenizers.js's ByteLevel uses JS `\s`, which differs from Oniguruma's only at U+0085 and U+FEFF;
// the inputs here contain neither.
function assertSameAsHf(json: HfTokenizerJson, texts: readonly string[]): void {
  const ours = new BpeTokenizer(json);
  const hf = new Tokenizer(json as object, {});
  for (const t of texts) {
    const want = hf.encode(t, { add_special_tokens: false }).ids;
    const got = ours.encode(t);
    assert.deepEqual(got, want, `ids differ on ${JSON.stringify(t.slice(0, 80))}`);
    assert.equal(ours.decode(got), hf.decode(want, { skip_special_tokens: false }));
  }
}

async function trained(): Promise<{ json: HfTokenizerJson; texts: string[] }> {
  const texts = await brownTexts(60);
  const pc = new PieceCounter();
  for (const t of texts.slice(0, 30)) pc.add(t);
  return { json: trainBpe({ counts: pc.counts, vocabSize: 2048 }).tokenizer.toHfJson(), texts };
}

test("trained BPE: ids identical to HF tokenizers.js on Brown (held-in and held-out) and tricky text", async () => {
  const { json, texts } = await trained();
  assertSameAsHf(json, [...texts, ...TRICKY_TEXTS]);
});

test("GPT-2 vocabulary: ids identical to HF tokenizers.js", async () => {
  assertSameAsHf(gpt2TokenizerJson(), [...(await brownTexts(8)), ...TRICKY_TEXTS]);
});

test("Llama-3-style pipeline (Split + ByteLevel, ignore_merges, NFC): ids identical to HF", async () => {
  const { json, texts } = await trained();
  const llama: HfTokenizerJson = {
    ...json,
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        {
          type: "Split",
          pattern: {
            Regex:
              "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
          },
          behavior: "Isolated",
          invert: false,
        },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    model: { ...json.model, ignore_merges: true },
  };
  assertSameAsHf(llama, [...texts.slice(0, 10), ...TRICKY_TEXTS, "IT'S DON'T We'LL 123456789 x"]);
});
