// Cached incremental decoding (paged KV cache, kvWrite + pagedAttention) equals a full forward
// pass for every sharing pattern (MHA, GQA, MQA, CLA2, CLA3, keep-ends, an explicit map) and KV
// dtype: on the f64 oracle, and on every tested backend (cpu f32, webgpu) against the f64 full
// forward of the same weights. Also: blocks all return to the pool; batched equals unbatched.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { CachedForward, type ForwardItem } from "../../src/infer/cached-forward.js";
import type { KvCache } from "../../src/infer/kv-cache.js";
import type { KvDType } from "../../src/infer/kv-layout.js";
import type { ModelConfig } from "../../src/model/config-types.js";
import { Model } from "../../src/model/model.js";
import { backendLabel, referenceBackend, testBackends } from "../helpers/backends.js";
import { newTestCache, PATTERNS, tinyConfig } from "./model-configs.js";

const SEQS: Record<string, number[]> = { a: [5, 9, 1, 30, 2, 2, 17, 8, 4], b: [3, 3, 36, 0, 12, 7, 1] };
// [id, start, count] per step: chunked prefill, then prefill + decode mixed, then decode.
const STEPS: [string, number, number][][] = [
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

function newCache(be: Backend, cfg: ModelConfig, numBlocks = 16): KvCache {
  return newTestCache(be, cfg, numBlocks);
}

/** Logits of the last row of every prefix of SEQS, by full forward passes on `oracle`. */
async function fullForwardRows(oracle: Model): Promise<Map<string, Float32Array | Float64Array>> {
  const V = oracle.config.vocabSize;
  const rows = new Map<string, Float32Array | Float64Array>();
  for (const [id, seq] of Object.entries(SEQS)) {
    for (let T = 1; T <= seq.length; T++) {
      const full = await oracle.forwardLogits({
        ids: Int32Array.from(seq.slice(0, T)),
        batchSize: 1,
        seqLen: T,
      });
      rows.set(`${id}:${T}`, full.slice((T - 1) * V, T * V));
    }
  }
  return rows;
}

/**
 * Runs SEQS through the cache in STEPS (interleaved, non-contiguous blocks) on `be` and returns
 * the worst relative error of the sampled rows against `want`; checks all blocks return.
 */
async function maxError(be: Backend, cfg: ModelConfig, want: Map<string, Float32Array | Float64Array>) {
  const model = Model.create(be, cfg, { seed: 3 });
  const cache = newCache(be, cfg);
  const fwd = new CachedForward(model, cache);
  cache.allocateFor("pad", 3); // so "a" and "b" get interleaved, non-contiguous blocks
  let worst = 0;
  for (const step of STEPS) {
    const items: ForwardItem[] = step.map(([id, start, n]) => {
      assert.equal(cache.allocateFor(id, n).kind, "ok");
      return {
        id,
        start,
        tokens: SEQS[id]!.slice(start, start + n),
        slots: cache.append(id, n),
        sample: true,
      };
    });
    const logits = await fwd.run(items);
    for (const [m, it] of items.entries()) {
      const ref = want.get(`${it.id}:${it.start + it.tokens.length}`)!;
      const scale = Math.max(...ref.map(Math.abs));
      ref.forEach((x, j) => {
        const e = Math.abs(logits[m * cfg.vocabSize + j]! - x) / scale;
        worst = Math.max(worst, Number.isNaN(e) ? Number.POSITIVE_INFINITY : e);
      });
    }
  }
  for (const id of ["a", "b", "pad"]) cache.free(id);
  assert.equal(cache.numFreeBlocks(), 16, "blocks all return to the pool");
  fwd.dispose();
  cache.dispose();
  model.dispose();
  return worst;
}

// Measured on the f64 oracle: 0 (f32), <= 4.4e-3 (f16), <= 2.1e-2 (bf16).
const TOL: Record<KvDType, { f64: number; f32: number }> = {
  f32: { f64: 1e-10, f32: 1e-4 },
  f16: { f64: 1e-2, f32: 1e-2 },
  bf16: { f64: 5e-2, f32: 5e-2 },
};

const oracle = await referenceBackend();
const tested = await testBackends();

for (const [name, hkv, sharing] of PATTERNS) {
  test(`cached incremental decoding equals the full forward: ${name}, every backend and KV dtype`, async () => {
    for (const dtype of ["f32", "f16", "bf16"] as const) {
      const cfg = tinyConfig(name, hkv, sharing, dtype);
      const ref = Model.create(oracle, cfg, { seed: 3 });
      const want = await fullForwardRows(ref);
      ref.dispose();
      const err = await maxError(oracle, cfg, want);
      assert.ok(err < TOL[dtype].f64, `${name} ${dtype} on the f64 oracle: relative error ${err}`);
      if (dtype !== "f32")
        assert.ok(err > 0, `${dtype} rounding must be visible (else the KV dtype is ignored)`);
      if (dtype === "bf16") continue; // f32 and f16 cover the f32 backends' paths
      for (const be of tested) {
        const e = await maxError(be, cfg, want);
        assert.ok(e < TOL[dtype].f32, `${name} ${dtype} on ${backendLabel(be)}: relative error ${e}`);
      }
    }
  });
}

test("with head dim 16 (the q/k/v kernel with the K/V append fused in on webgpu), decoding equals the full forward", async () => {
  for (const [name, hkv, sharing] of PATTERNS.filter(([n]) => ["GQA2", "MQA-CLA2", "map"].includes(n))) {
    for (const dtype of ["f32", "f16"] as const) {
      const cfg = { ...tinyConfig(name, hkv, sharing, dtype), headDim: 16 };
      const ref = Model.create(oracle, cfg, { seed: 3 });
      const want = await fullForwardRows(ref);
      ref.dispose();
      for (const be of tested) {
        const e = await maxError(be, cfg, want);
        assert.ok(e < TOL[dtype].f32, `${name} D16 ${dtype} on ${backendLabel(be)}: relative error ${e}`);
      }
    }
  }
});

test("batched steps equal unbatched steps on every backend (MQA-CLA2, f16 KV)", async () => {
  const cfg = tinyConfig("MQA-CLA2", 1, { kind: "uniform", factor: 2 }, "f16");
  for (const be of [oracle, ...tested]) {
    const model = Model.create(be, cfg, { seed: 4 });
    const run = async (groups: string[][]): Promise<Map<string, number[]>> => {
      const cache = newCache(be, cfg);
      const fwd = new CachedForward(model, cache);
      const out = new Map<string, number[]>();
      for (const ids of groups) {
        const items: ForwardItem[] = ids.map((id) => {
          const n = SEQS[id]!.length;
          cache.allocateFor(id, n);
          return { id, start: 0, tokens: SEQS[id]!, slots: cache.append(id, n), sample: true };
        });
        const logits = await fwd.run(items);
        ids.forEach((id, m) => {
          out.set(id, [...logits.subarray(m * cfg.vocabSize, (m + 1) * cfg.vocabSize)]);
        });
      }
      fwd.dispose();
      cache.dispose();
      return out;
    };
    const together = await run([["a", "b"]]);
    const alone = await run([["b"], ["a"]]);
    for (const id of ["a", "b"]) {
      const x = together.get(id)!;
      const y = alone.get(id)!;
      const err = Math.max(...x.map((v, j) => Math.abs(v - y[j]!))) / Math.max(...y.map(Math.abs));
      assert.ok(err < 1e-5, `${id} on ${backendLabel(be)}: batched vs unbatched relative error ${err}`);
    }
    model.dispose();
  }
});
