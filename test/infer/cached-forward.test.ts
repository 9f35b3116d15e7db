import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { createBackend } from "../../src/backend/registry.js";
import { CachedForward, type ForwardItem } from "../../src/infer/cached-forward.js";
import { KvCache } from "../../src/infer/kv-cache.js";
import type { ModelConfig } from "../../src/model/config-types.js";
import { Model } from "../../src/model/model.js";
import { producerMap } from "../../src/model/sharing.js";
import { PATTERNS, tinyConfig } from "./model-configs.js";

let f64: Backend;
before(async () => {
  f64 = await createBackend("cpu", { precision: "f64" });
});
after(() => f64.dispose());

/**
 * Runs two sequences through the cache in mixed steps (chunked prefill + decode in one batch)
 * and compares every sampled row with a full forward pass over the whole prefix.
 */
async function maxError(be: Backend, cfg: ModelConfig): Promise<number> {
  const model = Model.create(be, cfg, { seed: 3 });
  const layout = {
    nLayers: cfg.nLayers,
    producers: producerMap(cfg),
    nKvHeads: cfg.nKvHeads,
    headDim: cfg.headDim,
    dtype: cfg.kvDtype,
    blockSize: 4,
  };
  const cache = new KvCache({ backend: be, layout, numBlocks: 16, debug: true });
  const fwd = new CachedForward(model, cache);
  const seqs: Record<string, number[]> = { a: [5, 9, 1, 30, 2, 2, 17, 8, 4], b: [3, 3, 36, 0, 12, 7, 1] };
  cache.allocateFor("pad", 3); // so "a" and "b" get interleaved, non-contiguous blocks
  // [id, start, count] per step; a step's items sample when they reach a checked prefix.
  const steps: [string, number, number][][] = [
    [["a", 0, 3]],
    [
      ["a", 3, 4],
      ["b", 0, 5],
    ],
    [
      ["b", 5, 1],
      ["a", 7, 1],
    ],
    [
      ["a", 8, 1],
      ["b", 6, 1],
    ],
  ];
  let worst = 0;
  for (const step of steps) {
    const items: ForwardItem[] = step.map(([id, start, n]) => {
      assert.equal(cache.allocateFor(id, n).kind, "ok");
      return {
        id,
        start,
        tokens: seqs[id]!.slice(start, start + n),
        slots: cache.append(id, n),
        sample: true,
      };
    });
    const logits = await fwd.run(items);
    for (const [m, it] of items.entries()) {
      const T = it.start + it.tokens.length;
      const full = await model.forwardLogits({
        ids: Int32Array.from(seqs[it.id]!.slice(0, T)),
        batchSize: 1,
        seqLen: T,
      });
      const want = full.subarray((T - 1) * cfg.vocabSize, T * cfg.vocabSize);
      const scale = Math.max(...want.map(Math.abs));
      want.forEach((x, j) => {
        worst = Math.max(worst, Math.abs(logits[m * cfg.vocabSize + j]! - x) / scale);
      });
    }
  }
  cache.free("a");
  cache.free("b");
  cache.free("pad");
  assert.equal(cache.numFreeBlocks(), 16, "blocks all return");
  fwd.dispose();
  cache.dispose();
  model.dispose();
  return worst;
}

for (const [name, hkv, sharing] of PATTERNS) {
  test(`cached incremental decoding equals the full forward: ${name}, KV f32/f16/bf16 (f64 backend)`, async () => {
    const tol = { f32: 1e-10, f16: 1e-2, bf16: 5e-2 }; // measured: 0, <= 4.4e-3, <= 2.1e-2
    for (const dtype of ["f32", "f16", "bf16"] as const) {
      const err = await maxError(f64, tinyConfig(name, hkv, sharing, dtype));
      assert.ok(err < tol[dtype], `${name} ${dtype}: relative error ${err}`);
      if (dtype !== "f32")
        assert.ok(err > 0, `${dtype} rounding must be visible (else the KV dtype is ignored)`);
    }
  });
}

test("cached decoding equals the full forward on the f32 cpu backend (MQA-CLA2)", async () => {
  const be = await createBackend("cpu", { threads: 1 });
  const err = await maxError(be, tinyConfig("MQA-CLA2", 1, { kind: "uniform", factor: 2 }, "f32"));
  assert.ok(err < 1e-5, `relative error ${err}`);
  be.dispose();
});
