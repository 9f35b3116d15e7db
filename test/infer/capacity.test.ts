// The engine admits exactly the planner's number of sequences (model/plan.ts planCapacity) at a
// small memory budget: its KV pool gets the plan's blocks, as many full-context requests run at
// once as the plan says (no more, no preemption), and MQA-CLA2 holds about twice MQA's count.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { createBackend } from "../../src/backend/registry.js";
import { LocalEngine } from "../../src/infer/engine.js";
import type { GenerationChunk } from "../../src/infer/types.js";
import { Model } from "../../src/model/model.js";
import { planCapacity } from "../../src/model/plan.js";
import { tinyConfig } from "./model-configs.js";

let be: Backend;
before(async () => {
  be = await createBackend("cpu", { precision: "f32", threads: 1 });
});
after(() => be.dispose());

const CONTEXT = 16;
const BLOCK = 4;

/** Runs `n` requests of a full CONTEXT each; returns the peak number of sequences holding blocks. */
async function peakConcurrent(model: Model, kvBytes: number, n: number) {
  const engine = new LocalEngine({
    model,
    kvBytes,
    blockSize: BLOCK,
    maxContext: CONTEXT,
    maxRunning: 100,
    maxBatchTokens: 100 * CONTEXT,
  });
  const tables = engine.cache.tables;
  let peak = 0;
  const append = tables.append.bind(tables);
  tables.append = (id, k) => {
    peak = Math.max(peak, tables.sequenceIds().length);
    return append(id, k);
  };
  // prompt CONTEXT - 2 and 2 new tokens: CONTEXT - 1 slots, CONTEXT / BLOCK blocks from admission on.
  const runs = Array.from({ length: n }, async (_, i) => {
    const chunks: GenerationChunk[] = [];
    const prompt = Array.from({ length: CONTEXT - 2 }, (_, j) => (i + j) % model.config.vocabSize);
    for await (const c of engine.generate({ promptTokens: prompt, maxTokens: 2, temperature: 0 }))
      chunks.push(c);
    return chunks.flatMap((c) => c.tokens).length;
  });
  const generated = await Promise.all(runs);
  const stats = engine.stats();
  engine.dispose();
  return { peak, generated, stats, numBlocks: engine.cache.numBlocks };
}

test("the engine admits the planner's number of sequences at a small memory budget (MQA vs MQA-CLA2)", async () => {
  const counts: Record<string, number> = {};
  for (const [name, factor] of [
    ["MQA", 1],
    ["MQA-CLA2", 2],
  ] as const) {
    const cfg = { ...tinyConfig(name, 1, { kind: "uniform", factor }, "f16"), maxSeqLen: CONTEXT };
    const model = Model.create(be, cfg, { seed: 1 });
    // Weights (f32, as the engine holds them) + 5% reserve + room for a few MQA contexts.
    const memoryBytes = Math.ceil((model.layout.total * 4 + 6 * 6 * 2 * 8 * 2 * CONTEXT) / 0.95);
    const plan = planCapacity(cfg, { memoryBytes, context: CONTEXT, blockSize: BLOCK, weightsDtype: "f32" });
    assert.ok(plan.fits && plan.maxSequences >= 2, `plan ${JSON.stringify(plan)}`);
    const r = await peakConcurrent(model, plan.kvBudgetBytes, plan.maxSequences + 3);
    assert.equal(r.numBlocks, plan.kvBlocks, `${name}: the pool holds the plan's blocks`);
    assert.equal(r.peak, plan.maxSequences, `${name}: sequences admitted at once`);
    assert.equal(r.stats.preemptions, 0, `${name}: admission never over-commits`);
    assert.deepEqual(r.generated, Array(plan.maxSequences + 3).fill(2), `${name}: every request completes`);
    assert.equal(r.stats.freeBlocks, r.stats.totalBlocks, `${name}: blocks all return`);
    counts[name] = plan.maxSequences;
    model.dispose();
  }
  assert.ok(
    counts["MQA-CLA2"]! >= 2 * counts.MQA!,
    `CLA2 halves the KV per token: ${JSON.stringify(counts)}`,
  );
});
