// Tests for the layer -> producer maps: the paper's L=20 patterns written out by hand, uniform CLA-s
// for sizes that do not divide L, the invariants for every pattern at every L, and map validation.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KvSharing } from "../../src/model/config-types.js";
import {
  kvLayers,
  parseKvSharing,
  patternProducers,
  producerMap,
  SHARING_PATTERNS,
  uniformProducers,
  validateProducerMap,
} from "../../src/model/sharing.js";
import { ConfigError } from "../../src/errors.js";

const cfg = (nLayers: number, kvSharing: KvSharing) => ({ nLayers, kvSharing });
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

test("uniform CLA-s: groups of s, first produces, last group smaller", () => {
  assert.deepEqual(uniformProducers(1, 4), [0, 1, 2, 3]);
  assert.deepEqual(uniformProducers(2, 5), [0, 0, 2, 2, 4]);
  assert.deepEqual(uniformProducers(3, 20).slice(15), [15, 15, 15, 18, 18]);
  assert.deepEqual(kvLayers(cfg(20, { kind: "uniform", factor: 3 })), [0, 3, 6, 9, 12, 15, 18]);
  for (const [s, p] of [
    [1, 20],
    [2, 10],
    [3, 7],
    [4, 5],
  ] as const) {
    assert.equal(kvLayers(cfg(20, { kind: "uniform", factor: s })).length, p, `CLA${s}`);
  }
});

test("paper patterns at L=20, written out by hand from the paper's description", () => {
  // KeepEnds: layer 0 alone, pairs (1,2) .. (17,18), layer 19 alone.
  const keepEnds = [0, ...range(1, 19).map((l) => l - ((l - 1) % 2)), 19];
  assert.deepEqual(patternProducers("keep-ends", 20), keepEnds);
  // DenseFront: 10 normal layers 0..9, then 10..18 reuse 9, layer 19 alone.
  const denseFront = [...range(0, 10), ...range(10, 19).map(() => 9), 19];
  assert.deepEqual(patternProducers("dense-front", 20), denseFront);
  // DenseBack (our reading: the mirror of DenseFront's groups): 0 alone, 1..10 share 1, 11..19 normal.
  const denseBack = [0, ...range(1, 11).map(() => 1), ...range(11, 20)];
  assert.deepEqual(patternProducers("dense-back", 20), denseBack);
  for (const p of SHARING_PATTERNS) {
    assert.equal(kvLayers(cfg(20, { kind: "pattern", pattern: p })).length, 11, p);
  }
});

test("every pattern and factor gives a valid map at every L from 1 to 40", () => {
  for (let L = 1; L <= 40; L++) {
    const maps = [
      ...SHARING_PATTERNS.map((p) => patternProducers(p, L)),
      ...range(1, L + 1).map((s) => uniformProducers(s, L)),
    ];
    for (const m of maps) {
      assert.equal(m.length, L);
      validateProducerMap(m, L);
    }
    // The three patterns share one KV-layer count at each L (comparable, like the paper's 11 at L=20).
    const counts = SHARING_PATTERNS.map((p) => new Set(patternProducers(p, L)).size);
    assert.equal(new Set(counts).size, 1, `L=${L}: ${counts}`);
    if (L >= 3) assert.equal(patternProducers("keep-ends", L).at(-1), L - 1);
  }
});

test("validateProducerMap rejects the broken maps with a reason", () => {
  assert.throws(() => validateProducerMap([0, 2, 2]), /only reuse itself or an earlier layer/);
  assert.throws(() => validateProducerMap([0, 1, 0]), /non-decreasing/);
  assert.throws(() => validateProducerMap([0, 0, 1]), /reuses layer 1, which itself reuses 0/);
  assert.throws(() => validateProducerMap([1, 1]), ConfigError);
  assert.throws(() => validateProducerMap([0, 0], 3), /2 entries but the model has 3 layers/);
  assert.throws(() => producerMap(cfg(3, { kind: "map", producers: [0, 0, 1] })), ConfigError);
  assert.deepEqual(producerMap(cfg(4, { kind: "map", producers: [0, 0, 0, 3] })), [0, 0, 0, 3]);
});

test("parseKvSharing accepts factors, names and arrays, and rejects the rest", () => {
  assert.deepEqual(parseKvSharing(2, 8), { kind: "uniform", factor: 2 });
  assert.deepEqual(parseKvSharing("cla3", 8), { kind: "uniform", factor: 3 });
  assert.deepEqual(parseKvSharing("CLA-2", 8), { kind: "uniform", factor: 2 });
  assert.deepEqual(parseKvSharing("none", 8), { kind: "uniform", factor: 1 });
  assert.deepEqual(parseKvSharing("KeepEnds", 8), { kind: "pattern", pattern: "keep-ends" });
  assert.deepEqual(parseKvSharing("dense_back", 8), { kind: "pattern", pattern: "dense-back" });
  assert.deepEqual(parseKvSharing([0, 0, 2], 3), { kind: "map", producers: [0, 0, 2] });
  assert.deepEqual(parseKvSharing({ kind: "pattern", pattern: "dense-front" }, 8), {
    kind: "pattern",
    pattern: "dense-front",
  });
  assert.throws(() => parseKvSharing("densemiddle", 8), /not a known pattern/);
  assert.throws(() => parseKvSharing(9, 8), /out of range: use 1 \(no sharing\) to nLayers 8/);
  assert.throws(() => parseKvSharing(0, 8), ConfigError);
});
