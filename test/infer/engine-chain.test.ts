// The engine's run-ahead greedy decode (a step submitted before the previous step's tokens are
// read, its input tokens taken from the device argmax): the same tokens and finish reasons as the
// host-sampled path (top-k 1, never chained) with requests of different lengths, a stop token, a
// late arrival and a cancellation; the blocks all return to the pool.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LocalEngine } from "../../src/infer/engine.js";
import type { GenerationRequest } from "../../src/infer/types.js";
import { Model } from "../../src/model/model.js";
import { testBackends } from "../helpers/backends.js";
import { tinyConfig } from "./model-configs.js";

const gpu = (await testBackends()).find((b) => b.name === "webgpu");
const CFG = tinyConfig("MQA-CLA2", 1, { kind: "uniform", factor: 2 }, "f16");

type Sampling = Pick<GenerationRequest, "temperature" | "topK">;

/** Runs the scenario; `stopOf` picks c's stop token from a previous run's tokens. */
async function scenario(eng: LocalEngine, sampling: Sampling, cStop: number[]) {
  const collect = async (req: GenerationRequest, onChunk?: (n: number) => void) => {
    const toks: number[] = [];
    let reason: string | null = null;
    for await (const c of eng.generate({ ...req, ...sampling })) {
      toks.push(...c.tokens);
      reason = c.finishReason;
      onChunk?.(toks.length);
    }
    return { toks, reason };
  };
  const stop = new AbortController();
  let cStarted: Promise<{ toks: number[]; reason: string | null }> | null = null;
  const a = collect({ id: "a", promptTokens: [5, 9, 1, 30, 2], maxTokens: 9 }, (n) => {
    // c arrives while a and b are decoding
    if (n === 3) cStarted = collect({ id: "c", promptTokens: [7, 7, 2], maxTokens: 8, stopTokenIds: cStop });
  });
  const b = collect({ id: "b", promptTokens: [3, 3, 36], maxTokens: 4 });
  const d = collect({ id: "d", promptTokens: [1, 2, 3, 4], maxTokens: 10, signal: stop.signal }, (n) => {
    if (n === 2) stop.abort();
  });
  const out = { a: await a, b: await b, d: await d };
  while (cStarted === null) await new Promise((r) => setImmediate(r));
  return { ...out, c: await (cStarted as Promise<{ toks: number[]; reason: string | null }>) };
}

test("run-ahead greedy decode equals the host-sampled path at every depth: lengths, stop token, late arrival, cancel", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const model = Model.create(gpu, CFG, { seed: 9 });
  const hostEng = new LocalEngine({ model, blockSize: 4, maxRunning: 4 });
  // c's stop token: its third token in an unstopped host run
  const probe = await scenario(hostEng, { temperature: 1, topK: 1 }, []);
  const cStop = [probe.c.toks[2]!];
  const host = await scenario(hostEng, { temperature: 1, topK: 1 }, cStop);
  assert.equal(hostEng.stats().chainedSteps, 0, "the host-sampled path never runs ahead");
  hostEng.dispose();
  for (const runAhead of [0, 1, 2, 3]) {
    const eng = new LocalEngine({ model, blockSize: 4, maxRunning: 4, runAhead });
    const dev = await scenario(eng, { temperature: 0 }, cStop);
    const after = eng.stats();
    if (runAhead === 0) assert.equal(after.chainedSteps, 0);
    else assert.ok(after.chainedSteps >= 3, `depth ${runAhead}: chained ${after.chainedSteps} steps`);
    assert.deepEqual(dev, host, `depth ${runAhead}`);
    assert.equal(dev.a.toks.length, 9);
    assert.equal(dev.a.reason, "length");
    assert.equal(dev.b.toks.length, 4);
    assert.equal(dev.c.reason, "stop");
    assert.ok(dev.c.toks.length <= 3, `c stopped at its stop token (${dev.c.toks})`);
    assert.equal(dev.d.reason, "cancelled");
    assert.equal(after.freeBlocks, after.totalBlocks, "every block back in the pool");
    assert.equal(after.running + after.waiting, 0);
    eng.dispose();
  }
  model.dispose();
});

test("a request cancelled while its steps are in flight, then resubmitted under its id, gets none of their tokens", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const model = Model.create(gpu, CFG, { seed: 9 });
  const eng = new LocalEngine({ model, blockSize: 4, maxRunning: 4, runAhead: 3 });
  const run = async (req: GenerationRequest, onChunk?: (n: number) => void) => {
    const toks: number[] = [];
    const reasons: (string | null)[] = [];
    for await (const c of eng.generate(req)) {
      toks.push(...c.tokens);
      reasons.push(c.finishReason);
      onChunk?.(toks.length);
    }
    return { toks, reason: reasons.at(-1) };
  };
  const again = { id: "x", promptTokens: [9, 8, 7], maxTokens: 6, temperature: 0 };
  const alone = await run(again);
  const stop = new AbortController();
  let second: Promise<{ toks: number[]; reason: string | null | undefined }> | null = null;
  const chained0 = eng.stats().chainedSteps;
  const first = await run(
    { id: "x", promptTokens: [1, 2, 3, 4], maxTokens: 20, temperature: 0, signal: stop.signal },
    (n) => {
      if (n !== 3 || second !== null) return;
      stop.abort(); // steps of the first "x" are in flight now
      second = run(again);
    },
  );
  assert.equal(first.reason, "cancelled");
  assert.ok(eng.stats().chainedSteps - chained0 >= 3, "the first request ran ahead");
  while (second === null) await new Promise((r) => setImmediate(r));
  assert.deepEqual(await (second as Promise<unknown>), alone);
  const s = eng.stats();
  assert.equal(s.freeBlocks, s.totalBlocks, "every block back in the pool");
  eng.dispose();
  model.dispose();
});
