// Cross-check: the closed-form parameter count (accounting.ts) equals the sum over the flat parameter
// table (layout.ts, written independently on the model-math side) for every preset, and the table
// holds K/V projections and K/V norms exactly for the producer layers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { countParams } from "../../src/model/accounting.js";
import { buildLayout } from "../../src/model/layout.js";
import { listPresets } from "../../src/model/presets/index.js";
import { kvLayers } from "../../src/model/sharing.js";

test("countParams equals the layout table's paramCount for every preset", () => {
  for (const p of listPresets()) {
    const layout = buildLayout(p.config);
    assert.equal(countParams(p.config).total, layout.paramCount, p.name);
    const kvOwners = [...new Set(layout.tensors.filter((t) => t.role === "wk").map((t) => t.layer))];
    assert.deepEqual(kvOwners, kvLayers(p.config), p.name);
    const kvNorms = layout.tensors.filter((t) => t.role === "kv_norm").map((t) => t.layer);
    assert.deepEqual(kvNorms, kvLayers(p.config), p.name);
  }
});
