import assert from "node:assert/strict";
import { test } from "node:test";
import { RequestError } from "../../src/infer/errors.js";
import { type GenerationRequest, normalizeRequest, type TextCodec } from "../../src/infer/types.js";

const codec: TextCodec = {
  encode: (s) => [...s].map((c) => c.charCodeAt(0) % 50),
  decode: (ids) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join(""),
};
const limits = { vocabSize: 50, maxContext: 8, codec };

const refuse = (req: GenerationRequest, code: string, re: RegExp, lim: object = limits) =>
  assert.throws(
    () => normalizeRequest(req, { ...limits, ...lim }),
    (e) => e instanceof RequestError && e.code === code && re.test(e.message),
  );

test("defaults and normalisation", () => {
  const r = normalizeRequest({ id: "x", prompt: "ab", stop: "\n" }, limits);
  assert.deepEqual(r, {
    id: "x",
    promptTokens: [47, 48],
    maxTokens: 6, // default 128, clamped to the context (8) left after the prompt (2)
    sampling: { temperature: 1, topK: 0, topP: 1, repetitionPenalty: 1 },
    seed: 0,
    stop: ["\n"],
    stopTokenIds: [],
  });
  assert.match(normalizeRequest({ promptTokens: [1] }, limits).id, /^req-\d+$/);
});

test("actionable errors: empty prompt, too long, unknown ids, bad sampling, missing tokenizer", () => {
  refuse({ prompt: "" }, "empty-prompt", /prompt is empty/);
  refuse({ promptTokens: [] }, "empty-prompt", /at least one token/);
  refuse({}, "empty-prompt", /give prompt \(text\) or promptTokens/);
  refuse(
    { promptTokens: [1, 2, 3, 4, 5, 6, 7, 8] },
    "prompt-too-long",
    /8 tokens but the context is 8: shorten it to at most 7/,
  );
  refuse(
    { promptTokens: [1, 50] },
    "unknown-token",
    /promptTokens\[1\] = 50 is not a token id: the vocabulary is \[0, 50\)/,
  );
  refuse({ promptTokens: [1.5] }, "unknown-token", /promptTokens\[0\] = 1.5/);
  refuse({ promptTokens: [1], stopTokenIds: [-1] }, "unknown-token", /stop token id -1/);
  refuse({ promptTokens: [1], temperature: Number.NaN }, "invalid-sampling", /temperature NaN/);
  refuse({ promptTokens: [1], topP: 2 }, "invalid-sampling", /topP 2/);
  refuse({ promptTokens: [1], seed: -1 }, "invalid-sampling", /seed -1/);
  refuse({ promptTokens: [1], maxTokens: 0 }, "invalid-request", /maxTokens 0/);
  refuse({ prompt: "a", promptTokens: [1] }, "invalid-request", /not both/);
  refuse({ prompt: "a" }, "invalid-request", /no tokenizer: send promptTokens/, { codec: undefined });
  refuse({ promptTokens: [1], stop: "x" }, "invalid-request", /stop strings need a tokenizer/, {
    codec: undefined,
  });
});
