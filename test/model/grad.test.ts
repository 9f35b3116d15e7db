// Whole-model gradients vs central finite differences, in f64 on the cpu reference backend, for
// MHA, GQA, MQA, CLA2, CLA3 and a non-uniform explicit producer map (with tied embeddings):
// a sample of elements of EVERY parameter tensor, so each K/V producer's weights are checked with
// the contributions of all its consumer layers. Also: micro-batch gradients add up.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { Model } from "../../src/model/model.js";
import { Rng } from "../../src/model/rng.js";
import { cpuBackend, randomBatch, tinyConfig } from "./grad-helpers.js";

let be: Backend;
before(async () => {
  be = await cpuBackend("f64");
});
after(() => be?.dispose());

const CASES: [string, Record<string, unknown>][] = [
  ["MHA", { nKvHeads: 4, kvSharing: 1 }],
  ["GQA", { nKvHeads: 2, kvSharing: 1 }],
  ["MQA", { nKvHeads: 1, kvSharing: 1 }],
  ["GQA-CLA2", { nKvHeads: 2, kvSharing: 2 }],
  ["MQA-CLA3", { nKvHeads: 1, kvSharing: 3 }],
  ["map [0,1,1,1] tied", { nKvHeads: 2, kvSharing: [0, 1, 1, 1], tiedEmbeddings: true }],
];

for (const [label, over] of CASES) {
  test(`finite differences: ${label}`, async () => {
    const cfg = tinyConfig({ ...over, name: label });
    const model = Model.create(be, cfg, { seed: 3 });
    const batch = randomBatch(cfg.vocabSize, 2, 5, 11, [3]);
    await model.forward(batch);
    model.backward();
    const grads = (await model.readGrads()) as Float64Array;
    const base = Float64Array.from(await model.readParams());
    const rng = new Rng(5, 1);
    const h = 1e-5;
    let checked = 0;
    for (const spec of model.paramTable()) {
      const picks = new Set<number>();
      while (picks.size < Math.min(3, spec.numel)) picks.add(rng.nextU32() % spec.numel);
      for (const j of picks) {
        const i = spec.offset + j;
        const p = Float64Array.from(base);
        p[i] = base[i]! + h;
        model.loadParams(p);
        const lp = await model.forward(batch);
        p[i] = base[i]! - h;
        model.loadParams(p);
        const lm = await model.forward(batch);
        const fd = (lp - lm) / (2 * h);
        const an = grads[i]!;
        assert.ok(
          Math.abs(fd - an) <= 1e-8 + 1e-6 * Math.abs(fd),
          `${label} ${spec.name}[${j}]: analytic ${an} vs finite difference ${fd}`,
        );
        checked++;
      }
    }
    assert.ok(checked >= model.paramTable().length);
    // Gradients are non-trivial for every tensor (a missing consumer would leave holes, not zeros,
    // but an unwired tensor would be all zeros).
    for (const spec of model.paramTable()) {
      let ss = 0;
      for (let j = 0; j < spec.numel; j++) ss += grads[spec.offset + j]! ** 2;
      assert.ok(ss > 0, `${spec.name} got no gradient`);
    }
    model.dispose();
  });
}

test("gradients accumulate across micro-batches and zeroGrads clears them", async () => {
  const cfg = tinyConfig({ nKvHeads: 1, kvSharing: 2 });
  const model = Model.create(be, cfg, { seed: 9 });
  const b1 = randomBatch(cfg.vocabSize, 2, 5, 1);
  const b2 = randomBatch(cfg.vocabSize, 2, 5, 2);
  await model.forward(b1);
  model.backward();
  const g1 = Float64Array.from(await model.readGrads());
  model.zeroGrads();
  await model.forward(b2);
  model.backward();
  const g2 = Float64Array.from(await model.readGrads());
  await model.forward(b1);
  model.backward();
  const g12 = await model.readGrads();
  for (let i = 0; i < g12.length; i++) {
    assert.ok(Math.abs(g12[i]! - (g1[i]! + g2[i]!)) <= 1e-12 * (1 + Math.abs(g12[i]!)), `element ${i}`);
  }
  model.zeroGrads();
  assert.ok((await model.readGrads()).every((x) => x === 0));
  model.dispose();
});
