// The parameter layout table: names per sharing pattern, decayed tensors first and contiguous,
// aligned non-overlapping offsets, and a parameter count derived by hand from the architecture.
import assert from "node:assert/strict";
import { test } from "node:test";
import { countParams } from "../../src/model/accounting.js";
import { buildLayout, PARAM_ALIGN } from "../../src/model/layout.js";
import { findPreset, listPresets } from "../../src/model/presets/index.js";
import { tinyConfig } from "./grad-helpers.js";

test("CLA2 layout: sharing layers own no K/V weights and no kv_norm", () => {
  const lay = buildLayout(tinyConfig({ nKvHeads: 2, kvSharing: 2 }));
  const names = new Set(lay.tensors.map((t) => t.name));
  for (const l of [0, 2]) {
    for (const n of ["wk", "wv", "kv_norm"]) assert.ok(names.has(`layers.${l}.${n}.weight`), `${l} ${n}`);
  }
  for (const l of [1, 3]) {
    for (const n of ["wk", "wv", "kv_norm"]) assert.ok(!names.has(`layers.${l}.${n}.weight`), `${l} ${n}`);
    for (const n of ["wq", "q_norm", "wo", "ffn_norm", "w_gate_up", "w_down"]) {
      assert.ok(names.has(`layers.${l}.${n}.weight`));
    }
  }
  assert.deepEqual(lay.producers, [0, 0, 2, 2]);
  assert.deepEqual(lay.get("layers.2.wk.weight").shape, [2 * 4, 8]);
  assert.deepEqual(lay.get("layers.1.w_gate_up.weight").shape, [24, 8]);
  assert.deepEqual(lay.get("layers.1.wo.weight").shape, [8, 16]);
  assert.ok(names.has("lm_head.weight"));
  assert.ok(
    !buildLayout(tinyConfig({ tiedEmbeddings: true })).tensors.some((t) => t.name === "lm_head.weight"),
  );
});

test("decayed (matrix) tensors form one leading range, norms the trailing one; offsets aligned", () => {
  const lay = buildLayout(tinyConfig({ nKvHeads: 1, kvSharing: [0, 0, 0, 3] }));
  let end = 0;
  for (const t of lay.tensors) {
    assert.equal(t.offset % PARAM_ALIGN, 0);
    assert.ok(t.offset >= end, `${t.name} overlaps the previous tensor`);
    end = t.offset + t.numel;
    assert.equal(t.decay, t.shape.length === 2, t.name);
    assert.equal(t.init, t.decay ? "normal" : "ones");
    if (t.decay) assert.ok(end <= lay.decay.size, `${t.name} outside the decay range`);
    else assert.ok(t.offset >= lay.noDecay.offset, `${t.name} inside the decay range`);
  }
  assert.ok(end <= lay.total);
  assert.equal(lay.decay.offset, 0);
  assert.equal(lay.noDecay.offset + lay.noDecay.size, lay.total);
  assert.equal(new Set(lay.tensors.map((t) => t.name)).size, lay.tensors.length);
});

test("parameter count matches the hand formula (paper 1B presets, MQA vs MQA-CLA2)", () => {
  const count = (name: string) => {
    const cfg = findPreset(name)!;
    const { vocabSize: V, dModel: C, nLayers: L, nHeads: H, nKvHeads: Hkv, headDim: D, ffnDim: F } = cfg;
    const P = new Set(buildLayout(cfg).producers).size;
    const hand =
      V * C * (cfg.tiedEmbeddings ? 1 : 2) +
      L * (2 * H * D * C + 3 * F * C + 2 * C) +
      P * (2 * Hkv * D * C + C) +
      C;
    assert.equal(buildLayout(cfg).paramCount, hand, name);
    return hand;
  };
  const mqa = count("H128-MQA");
  const cla2 = count("H128-MQA-CLA2");
  // The paper: CLA2 removes about 0.5% of the parameters at 1B (10 of 20 K/V projections).
  const drop = (mqa - cla2) / mqa;
  assert.ok(drop > 0.001 && drop < 0.01, `drop ${drop}`);
});

test("layout parameter count equals the accounting module's count for every preset", () => {
  for (const p of listPresets())
    assert.equal(buildLayout(p.config).paramCount, countParams(p.config).total, p.name);
});
