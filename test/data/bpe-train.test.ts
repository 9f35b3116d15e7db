// BPE training: a hand-derived merge sequence, determinism, layout (bytes, merges, specials last),
// and decode(encode(x)) === x on real text, including non-ASCII, after a tokenizer.json round trip.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { BpeTokenizer } from "../../src/data/tokenizers/bpe-tokenizer.js";
import { PieceCounter, trainBpe } from "../../src/data/tokenizers/bpe-train.js";
import { readTokenizerJson, writeTokenizerJson } from "../../src/io/tokenizer-json.js";
import { brownTexts, TRICKY_TEXTS } from "./texts.js";

test("trainBpe: merges the most frequent pair first (hand-derived)", () => {
  // Pre-tokens "ab" x5, "abc" x3, "bc" x1: pairs (a,b)=8, (b,c)=4 -> merge a+b; then (ab,c)=3 and
  // (b,c)=1 -> merge ab+c; then only (b,c)=1 remains, below min frequency 2.
  const counts = new Map([
    ["ab", 5],
    ["abc", 3],
    ["bc", 1],
  ]);
  const { tokenizer, merges } = trainBpe({ counts, vocabSize: 300 });
  assert.equal(merges, 2);
  assert.deepEqual(tokenizer.toHfJson().model.merges, ["a b", "ab c"]);
  assert.equal(tokenizer.vocabSize, 259); // 256 bytes + 2 merges + <|endoftext|>
  assert.equal(tokenizer.eotId, 258);
  assert.deepEqual(tokenizer.encode("abc"), [257]);
  assert.deepEqual(tokenizer.encode("bc"), [98, 99]);
});

test("trainBpe: deterministic, reaches the target vocab, round-trips Brown and unicode", async () => {
  const texts = await brownTexts(40);
  const train = () => {
    const pc = new PieceCounter();
    for (const t of texts) pc.add(t);
    return trainBpe({ counts: pc.counts, vocabSize: 1024 }).tokenizer;
  };
  const a = train();
  const b = train();
  assert.deepEqual(a.toHfJson(), b.toHfJson());
  assert.equal(a.vocabSize, 1024);
  assert.equal(a.eotId, 1023);
  assert.equal(a.model.mergeCount, 1024 - 256 - 1);
  // Byte ids are the bytes themselves (GPT-2 layout).
  assert.deepEqual(a.encode("\u0000A\u00ff"), [0, 65, 0xc3, 0xbf]);
  for (const t of [...texts, ...TRICKY_TEXTS]) assert.equal(a.decode(a.encode(t)), t);
  // Compression on held-in text: BPE at 1k vocab must beat bytes by a wide margin.
  const ids = a.encode(texts[0]!);
  assert.ok(ids.length < Buffer.byteLength(texts[0]!) / 2.5, `${ids.length} tokens`);
  assert.equal(a.encode("<|endoftext|>")[0], a.eotId);

  const dir = mkdtempSync(join(tmpdir(), "cl-bpe-"));
  try {
    writeTokenizerJson(join(dir, "tokenizer.json"), a.toHfJson());
    const loaded = new BpeTokenizer(readTokenizerJson(join(dir, "tokenizer.json")));
    for (const t of [...texts.slice(0, 5), ...TRICKY_TEXTS]) assert.deepEqual(loaded.encode(t), a.encode(t));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
