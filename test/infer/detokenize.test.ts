// The engine's streaming detokenizer (infer/detokenize.ts) decodes a window of the last tokens per
// token instead of the whole generation. Against the previous rule (decode everything each token,
// emit what follows the common prefix, hold back a U+FFFD tail) it must give the same chunk at
// every step: for valid UTF-8 split at every byte, multi-byte characters across BPE tokens, and
// streams with invalid bytes and special tokens mixed in.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PieceCounter, trainBpe } from "../../src/data/tokenizers/bpe-train.js";
import { ByteTokenizer } from "../../src/data/tokenizers/byte-tokenizer.js";
import { Detokenizer } from "../../src/infer/detokenize.js";
import type { TextCodec } from "../../src/infer/types.js";
import { makeRng } from "../helpers/random.js";

/** The previous rule: the whole decode each token, what follows the common prefix. */
function fullRule(codec: TextCodec) {
  let text = "";
  return (ids: readonly number[]): string => {
    const full = codec.decode(ids);
    if (full.endsWith("\uFFFD")) return "";
    let k = 0;
    while (k < text.length && k < full.length && text[k] === full[k]) k++;
    const delta = full.slice(Math.max(k, text.length));
    text = full;
    return delta;
  };
}

function sameChunks(codec: TextCodec, ids: readonly number[], what: string): string {
  const d = new Detokenizer(codec);
  const ref = fullRule(codec);
  let out = "";
  for (let i = 1; i <= ids.length; i++) {
    const got = d.next(ids.slice(0, i));
    assert.equal(got, ref(ids.slice(0, i)), `${what}: chunk after token ${i}`);
    out += got;
  }
  return out;
}

const TEXTS = [
  "plain ascii text.",
  "caf\u00e9 na\u00efve",
  "emoji \u{1F600}\u{1F680} ok",
  "\u4e2d\u6587\u5b57 mixed \u00e9\u00e8",
];

test("detokenizer: byte tokens (multi-byte characters split at every byte) stream the full text", () => {
  const bytes = new ByteTokenizer();
  for (const t of TEXTS) assert.equal(sameChunks(bytes, bytes.encode(t), t), t);
});

test("detokenizer: BPE tokens, invalid bytes and special tokens give the previous rule's chunks", () => {
  const pc = new PieceCounter();
  for (const t of TEXTS) for (let r = 0; r < 20; r++) pc.add(t);
  const bpe = trainBpe({ counts: pc.counts, vocabSize: 320 }).tokenizer;
  for (const t of TEXTS) assert.equal(sameChunks(bpe, bpe.encode(t), `bpe ${t}`), t);
  const bytes = new ByteTokenizer();
  const rng = makeRng(5);
  for (let trial = 0; trial < 200; trial++) {
    // random bytes (lone continuation bytes, truncated sequences) among valid text and <|endoftext|>
    const ids: number[] = [];
    const n = 1 + Math.floor(rng() * 24);
    for (let i = 0; i < n; i++) {
      const r = rng();
      if (r < 0.4) ids.push(...bytes.encode(TEXTS[Math.floor(rng() * TEXTS.length)]!.slice(0, 3)));
      else if (r < 0.9) ids.push(Math.floor(rng() * 256));
      else ids.push(256);
    }
    sameChunks(bytes, ids, `random stream ${trial}`);
  }
});
