import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../src/errors.js";
import { resolveKvLayout } from "../../src/infer/kv-layout.js";
import { uniformProducers } from "../../src/model/sharing.js";
import { sharingPatterns } from "./layouts.js";

const base = { nLayers: 4, nKvHeads: 2, headDim: 8, dtype: "f16" as const, blockSize: 16 };

test("cacheLayerOf maps layers to their producer's cache layer (llama.cpp map_layer_ids)", () => {
  const r = resolveKvLayout({ ...base, nLayers: 7, producers: [0, 0, 2, 2, 2, 5, 6] });
  assert.deepEqual(r.kvLayers, [0, 2, 5, 6]);
  assert.equal(r.nKvLayers, 4);
  assert.deepEqual(
    Array.from({ length: 7 }, (_, l) => r.cacheLayerOf(l)),
    [0, 0, 1, 1, 1, 2, 3],
  );
  assert.deepEqual(
    Array.from({ length: 7 }, (_, l) => r.isProducer(l)),
    [true, false, true, false, false, true, true],
  );
  assert.throws(() => r.cacheLayerOf(7), ConfigError);
});

test("bytesPerToken matches the paper's Table 1 rows (16-bit, L=20, D=128)", () => {
  const row = (nKvHeads: number, headDim: number, factor: number) =>
    resolveKvLayout({
      nLayers: 20,
      nKvHeads,
      headDim,
      dtype: "bf16",
      blockSize: 16,
      producers: uniformProducers(factor, 20),
    }).bytesPerToken();
  assert.equal(row(16, 128, 1), 163840); // H128-MHA
  assert.equal(row(4, 128, 1), 40960); // H128-GQA4
  assert.equal(row(1, 128, 1), 10240); // H128-MQA
  assert.equal(row(1, 64, 1), 5120); // H64-MQA
  assert.equal(row(1, 128, 2), 5120); // H128-MQA-CLA2
  assert.equal(row(1, 512, 2), 20480); // H512-MQA-CLA2
  assert.equal(row(1, 128, 3), 3584); // H128-MQA-CLA3
  assert.equal(row(1, 128, 4), 2560); // H128-MQA-CLA4
});

test("every sharing pattern resolves to the independently counted producers", () => {
  for (const dtype of ["f32", "f16", "bf16"] as const) {
    for (const p of sharingPatterns(dtype)) {
      const r = resolveKvLayout(p.layout);
      assert.equal(r.nKvLayers, p.expectedKvLayers, p.name);
      const bpe = dtype === "f32" ? 4 : 2;
      assert.equal(r.bytesPerToken(), 2 * p.layout.nKvHeads * p.layout.headDim * p.expectedKvLayers * bpe);
    }
  }
});

test("invalid layouts throw ConfigErrors naming the field and the fix", () => {
  const bad = (over: object, re: RegExp) =>
    assert.throws(
      () => resolveKvLayout({ ...base, producers: [0, 1, 2, 3], ...over }),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
    );
  bad({ nLayers: 0 }, /nLayers 0 is not a positive integer/);
  bad({ nKvHeads: 1.5 }, /nKvHeads 1.5/);
  bad({ headDim: -1 }, /headDim -1/);
  bad({ blockSize: 0 }, /blockSize 0.*16 tokens per block/);
  bad({ dtype: "i32" }, /dtype "i32".*f32, f16 or bf16/);
  bad({ producers: [0, 1, 2] }, /3 entries but nLayers is 4/);
  bad({ producers: [0, 2, 2, 3] }, /producers\[1\] = 2 is invalid.*earlier layer \(0\.\.1\)/);
  bad({ producers: [0, 0, 1, 3] }, /producers\[2\] = 1 but layer 1 is not a producer/);
  bad({ producers: [0, 1, 1, 0] }, /non-decreasing: producers\[2\] = 1 > producers\[3\] = 0/);
  bad({ producers: [1, 1, 2, 3] }, /producers\[0\] = 1 is invalid/);
});
