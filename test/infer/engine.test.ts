import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { createBackend } from "../../src/backend/registry.js";
import { LocalEngine, type LocalEngineOptions } from "../../src/infer/engine.js";
import { RequestError } from "../../src/infer/errors.js";
import type { GenerationChunk, GenerationRequest, TextCodec } from "../../src/infer/types.js";
import { Model } from "../../src/model/model.js";
import { tinyConfig } from "./model-configs.js";

let be: Backend;
let model: Model;
before(async () => {
  be = await createBackend("cpu", { precision: "f64" });
  model = Model.create(be, tinyConfig("MQA-CLA2", 1, { kind: "uniform", factor: 2 }, "f32"), { seed: 5 });
});
after(() => {
  model.dispose();
  be.dispose();
});

/** Greedy decoding by full forward passes: the independent reference. */
async function greedyReference(prompt: number[], n: number): Promise<number[]> {
  const seq = [...prompt];
  const V = model.config.vocabSize;
  for (let i = 0; i < n; i++) {
    const T = seq.length;
    const logits = await model.forwardLogits({ ids: Int32Array.from(seq), batchSize: 1, seqLen: T });
    const row = [...logits.subarray((T - 1) * V, T * V)];
    seq.push(row.indexOf(Math.max(...row)));
  }
  return seq.slice(prompt.length);
}

async function collect(it: AsyncIterable<GenerationChunk>): Promise<GenerationChunk[]> {
  const out: GenerationChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}
const tokensOf = (chunks: GenerationChunk[]) => chunks.flatMap((c) => c.tokens);
const engine = (o: Partial<LocalEngineOptions> = {}) => new LocalEngine({ model, blockSize: 4, ...o });

test("concurrent greedy requests equal full-forward greedy decoding, even under preemption", async () => {
  const prompts = [
    [1, 2, 3],
    [30, 4, 4, 9, 11, 2, 7],
    [5, 6],
  ];
  const want = await Promise.all(prompts.map((p) => greedyReference(p, 6)));
  // The three requests need 2 + 3 + 2 blocks of 4 at their peak: with 5 blocks some are preempted.
  for (const o of [{}, { kvBlocks: 5, maxBatchTokens: 5 }]) {
    const eng = engine(o);
    const got = await Promise.all(
      prompts.map((p, i) =>
        collect(eng.generate({ id: `r${i}`, promptTokens: p, maxTokens: 6, temperature: 0 })),
      ),
    );
    got.forEach((chunks, i) => {
      assert.deepEqual(tokensOf(chunks), want[i], `request ${i} with ${JSON.stringify(o)}`);
      const last = chunks.at(-1)!;
      assert.equal(last.finishReason, "length");
      assert.deepEqual(last.usage, { promptTokens: prompts[i]!.length, completionTokens: 6 });
    });
    assert.equal(eng.stats().freeBlocks, eng.stats().totalBlocks, "all blocks return");
    if (o.kvBlocks !== undefined) assert.ok(eng.stats().preemptions > 0, "the tight pool really preempted");
    eng.dispose();
  }
});

test("seeded sampling is deterministic and independent of batch mates", async () => {
  const req: GenerationRequest = {
    promptTokens: [3, 1, 4],
    maxTokens: 8,
    temperature: 1.3,
    topP: 0.9,
    seed: 42,
  };
  const eng = engine();
  const alone = tokensOf(await collect(eng.generate({ ...req, id: "alone" })));
  const [mixed] = await Promise.all([
    collect(eng.generate({ ...req, id: "mixed" })),
    collect(eng.generate({ id: "other", promptTokens: [9, 9, 9, 9, 9], maxTokens: 8, seed: 1 })),
  ]);
  assert.deepEqual(tokensOf(mixed!), alone);
  const other = tokensOf(await collect(eng.generate({ ...req, id: "seed7", seed: 7 })));
  assert.notDeepEqual(other, alone);
  eng.dispose();
});

test("AbortSignal and breaking out of the stream cancel at once and free blocks", async () => {
  const eng = engine({ maxBatchTokens: 4 });
  const ac = new AbortController();
  const chunks: GenerationChunk[] = [];
  for await (const c of eng.generate({
    id: "a",
    promptTokens: [1, 2, 3, 4, 5, 6, 7, 8, 9],
    maxTokens: 20,
    signal: ac.signal,
  })) {
    chunks.push(c);
    if (chunks.length === 2) {
      ac.abort();
      assert.equal(eng.stats().freeBlocks, eng.stats().totalBlocks, "blocks freed at abort time");
    }
  }
  assert.equal(chunks.at(-1)!.finishReason, "cancelled");
  assert.equal(chunks.length, 3);
  for await (const _ of eng.generate({ id: "b", promptTokens: [1, 2], maxTokens: 20 })) break;
  assert.equal(eng.stats().freeBlocks, eng.stats().totalBlocks);
  assert.equal(eng.stats().running + eng.stats().waiting, 0);
  const pre = new AbortController();
  pre.abort();
  const c = await collect(eng.generate({ promptTokens: [1], signal: pre.signal }));
  assert.deepEqual(
    c.map((x) => x.finishReason),
    ["cancelled"],
  );
  eng.dispose();
});

test("stop strings over decoded text, EOS, and request errors thrown at generate()", async () => {
  // Each token decodes to one letter; the stop string is the text of greedy tokens 3..4.
  const codec: TextCodec = {
    encode: (s) => [...s].map((ch) => ch.charCodeAt(0) - 97),
    decode: (ids) => ids.map((i) => String.fromCharCode(97 + i)).join(""),
  };
  const greedy = await greedyReference([1, 2, 3], 8);
  const text = codec.decode(greedy);
  const eng = engine({ codec, eosTokenId: 36 });
  const stop = text.slice(3, 5);
  const chunks = await collect(eng.generate({ promptTokens: [1, 2, 3], maxTokens: 8, temperature: 0, stop }));
  assert.equal(chunks.map((c) => c.text).join(""), text.slice(0, text.indexOf(stop)));
  assert.equal(chunks.at(-1)!.finishReason, "stop");
  const byPrompt = await collect(eng.generate({ prompt: "bcd", maxTokens: 8, temperature: 0 }));
  assert.deepEqual(tokensOf(byPrompt), greedy.slice(0, greedy.includes(36) ? greedy.indexOf(36) + 1 : 8));
  const bad = (req: GenerationRequest, code: string) =>
    assert.throws(
      () => eng.generate(req),
      (e) => e instanceof RequestError && e.code === code,
    );
  bad({ promptTokens: [] }, "empty-prompt");
  bad({ promptTokens: [37] }, "unknown-token");
  bad({ promptTokens: new Array(32).fill(1) }, "prompt-too-long");
  bad({ promptTokens: [1], maxTokens: 40 }, "prompt-too-long");
  bad({ promptTokens: [1], topK: -1 }, "invalid-sampling");
  eng.dispose();
  const small = engine({ kvBlocks: 2 });
  assert.throws(() => eng.generate({ promptTokens: [1] }), /engine was disposed/);
  assert.throws(
    () => small.generate({ promptTokens: [1, 2, 3], maxTokens: 8 }),
    (e) =>
      e instanceof RequestError &&
      e.code === "cannot-fit" &&
      /needs 3 KV blocks but the cache has 2/.test(e.message),
  );
  small.dispose();
});

test("stats report the cache's real bytes and the accounting formula", () => {
  const eng = engine({ kvBlocks: 10 });
  const s = eng.stats();
  assert.equal(s.kvBytesPerToken, 2 * 1 * 8 * 3 * 4); // 2 * Hkv * D * P(=3 for CLA2 at L=6) * f32
  assert.equal(s.kvBytes, s.kvBytesPerToken * 10 * 4);
  eng.dispose();
});
