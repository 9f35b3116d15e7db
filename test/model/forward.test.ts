// Forward-pass equivalences that pin the wiring down: CLA equals a non-CLA model whose sharing
// layers see the producer's input and carry copies of its K/V weights and kv_norm; GQA with
// duplicated K/V heads equals MQA; causality and batch independence; loss = host cross-entropy of
// the logits; loss at a small init ~ ln V; f32 vs f64 cpu logits.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import type { ModelConfig } from "../../src/model/config-types.js";
import { Model } from "../../src/model/model.js";
import { Rng } from "../../src/model/rng.js";
import { cpuBackend, randomBatch, tinyConfig } from "./grad-helpers.js";

let be: Backend;
before(async () => {
  be = await cpuBackend("f64");
});
after(() => be?.dispose());

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function readNamed(m: Model, name: string): Promise<Float64Array> {
  return Float64Array.from(await be.read(m.param(name)));
}

/** Norm gains away from 1, so that a wrong norm would show. */
async function perturbNorms(m: Model, seed: number) {
  const rng = new Rng(seed, 3);
  for (const s of m.paramTable()) {
    if (s.decay) continue;
    const d = new Float64Array(s.numel).map(() => 1 + 0.3 * rng.normal());
    m.writeParam(s.name, d);
  }
}

/** A CLA model whose layers p..l-1 are identities, against the non-CLA model it should equal. */
async function claVersusCopies(cfg: ModelConfig, makeIdentity: boolean) {
  const cla = Model.create(be, cfg, { seed: 1 });
  await perturbNorms(cla, 2);
  const prod = cla.layout.producers;
  if (makeIdentity) {
    // Every layer that is not the last of its group adds nothing to the residual stream, so a
    // sharing layer's input equals its producer's input.
    for (let l = 0; l < cfg.nLayers - 1; l++) {
      if (prod[l + 1] !== prod[l]) continue;
      for (const n of ["wo", "w_down"]) {
        const s = cla.layout.get(`layers.${l}.${n}.weight`);
        cla.writeParam(s.name, new Float64Array(s.numel));
      }
    }
  }
  const plain = Model.create(be, { ...cfg, kvSharing: { kind: "uniform", factor: 1 } }, { seed: 99 });
  for (const s of plain.paramTable()) {
    const m = /^layers\.(\d+)\.(wk|wv|kv_norm)\.weight$/.exec(s.name);
    const src = m ? `layers.${prod[Number(m[1])]}.${m[2]}.weight` : s.name;
    plain.writeParam(s.name, await readNamed(cla, src));
  }
  const batch = randomBatch(cfg.vocabSize, 2, 6, 4);
  const a = await cla.forwardLogits(batch);
  const b = await plain.forwardLogits(batch);
  return { diff: maxAbsDiff(a, b), cla, plain, batch };
}

test("CLA equals a non-CLA twin with copied K/V weights and kv_norm when inputs match; K/V grads sum", async () => {
  for (const over of [
    { nKvHeads: 2, kvSharing: 2 },
    { nKvHeads: 1, kvSharing: [0, 0, 0, 3] },
    { nKvHeads: 4, kvSharing: 3, nLayers: 5 },
  ]) {
    const cfg = tinyConfig(over);
    const same = await claVersusCopies(cfg, true);
    assert.ok(same.diff < 1e-12, JSON.stringify(over));
    // The producer's K/V weights and kv_norm get the gradients of every consumer: in the non-CLA
    // twin each consumer has its own copy, so the producer's gradient is the sum over the copies.
    for (const m of [same.cla, same.plain]) {
      await m.forward(same.batch);
      m.backward();
    }
    const prod = same.cla.layout.producers;
    for (const p of new Set(prod)) {
      for (const n of ["wk", "wv", "kv_norm"]) {
        const got = Float64Array.from(await be.read(same.cla.grad(`layers.${p}.${n}.weight`)));
        const want = new Float64Array(got.length);
        for (let l = 0; l < cfg.nLayers; l++) {
          if (prod[l] !== p) continue;
          const g = await be.read(same.plain.grad(`layers.${l}.${n}.weight`));
          g.forEach((x, i) => {
            want[i]! += x;
          });
        }
        assert.ok(maxAbsDiff(got, want) < 1e-12 * (1 + Math.max(...Array.from(want, Math.abs))), `${p} ${n}`);
      }
    }
    same.cla.dispose();
    same.plain.dispose();
    // Control: without identity layers the inputs differ, and so do the logits.
    const differ = await claVersusCopies(cfg, false);
    assert.ok(differ.diff > 1e-3, `control ${JSON.stringify(over)}`);
    differ.cla.dispose();
    differ.plain.dispose();
  }
});

test("GQA with duplicated K/V heads equals MQA (query head h reads K/V head h / (H / Hkv))", async () => {
  const mqa = Model.create(be, tinyConfig({ nKvHeads: 1, kvSharing: 2 }), { seed: 5 });
  const gqa = Model.create(be, tinyConfig({ nKvHeads: 2, kvSharing: 2 }), { seed: 6 });
  for (const s of gqa.paramTable()) {
    const src = await readNamed(mqa, s.name);
    gqa.writeParam(s.name, /\.(wk|wv)\.weight$/.test(s.name) ? Float64Array.from([...src, ...src]) : src);
  }
  const batch = randomBatch(11, 2, 6, 8);
  assert.ok(maxAbsDiff(await mqa.forwardLogits(batch), await gqa.forwardLogits(batch)) < 1e-12);
  // Control: different second K/V head -> different logits.
  const s = gqa.layout.get("layers.0.wk.weight");
  gqa.writeParam(
    s.name,
    new Float64Array(s.numel).map((_, i) => Math.sin(i)),
  );
  assert.ok(maxAbsDiff(await mqa.forwardLogits(batch), await gqa.forwardLogits(batch)) > 1e-4);
  mqa.dispose();
  gqa.dispose();
});

test("causal and batch-independent: prefixes and single rows give the same logits", async () => {
  const cfg = tinyConfig({ nKvHeads: 2, kvSharing: 2 });
  const m = Model.create(be, cfg, { seed: 2 });
  const V = cfg.vocabSize;
  const full = randomBatch(V, 2, 7, 3);
  const lf = await m.forwardLogits(full);
  const prefix = {
    ids: Int32Array.from([...full.ids.slice(0, 4), ...full.ids.slice(7, 11)]),
    batchSize: 2,
    seqLen: 4,
  };
  const lp = await m.forwardLogits(prefix);
  for (let b = 0; b < 2; b++) {
    const want = lf.slice(b * 7 * V, (b * 7 + 4) * V);
    assert.ok(maxAbsDiff(lp.slice(b * 4 * V, (b + 1) * 4 * V), want) < 1e-12, `row ${b}`);
  }
  const row1 = await m.forwardLogits({ ids: full.ids.slice(7), batchSize: 1, seqLen: 7 });
  assert.ok(maxAbsDiff(row1, lf.slice(7 * V)) < 1e-12);
  m.dispose();
});

test("forward's mean loss equals the host cross-entropy of its logits (ignored targets skipped)", async () => {
  const cfg = tinyConfig({ nKvHeads: 1, kvSharing: 3 });
  const m = Model.create(be, cfg, { seed: 4 });
  const batch = randomBatch(cfg.vocabSize, 2, 5, 6, [0, 7]);
  const loss = await m.forward(batch);
  const logits = await m.forwardLogits(batch);
  const V = cfg.vocabSize;
  let sum = 0;
  let n = 0;
  batch.targets.forEach((t, r) => {
    if (t === -1) return;
    const row = Array.from(logits.slice(r * V, (r + 1) * V));
    const mx = Math.max(...row);
    const lse = mx + Math.log(row.reduce((s, x) => s + Math.exp(x - mx), 0));
    sum += lse - row[t]!;
    n++;
  });
  assert.equal(n, 8);
  assert.ok(Math.abs(loss - sum / n) < 1e-12, `${loss} vs ${sum / n}`);
  m.dispose();
});

test("loss at a small init is close to ln V", async () => {
  const cfg = tinyConfig({ vocabSize: 64, initStd: 0.02, kvSharing: 2, nKvHeads: 1 });
  const m = Model.create(be, cfg, { seed: 7 });
  // Logits have std ~ initStd * sqrt(C) = 0.057 after the final norm, so the mean over 64 rows
  // sits within a few hundredths of ln V; a broken scale or norm would be far off.
  const loss = await m.forward(randomBatch(64, 4, 16, 1));
  assert.ok(Math.abs(loss - Math.log(64)) < 0.03, `loss ${loss} vs ln 64 = ${Math.log(64)}`);
  m.dispose();
});

test("f32 cpu logits match f64 cpu logits from the same seed", async () => {
  const be32 = await cpuBackend("f32");
  const cfg = tinyConfig({ nKvHeads: 2, kvSharing: 2, dModel: 16, ffnDim: 24 });
  const batch = randomBatch(cfg.vocabSize, 2, 6, 5);
  const m64 = Model.create(be, cfg, { seed: 8 });
  const m32 = Model.create(be32, cfg, { seed: 8 });
  const a = await m64.forwardLogits(batch);
  const b = await m32.forwardLogits(batch);
  const scale = Math.max(...Array.from(a, Math.abs));
  assert.ok(maxAbsDiff(a, b) < 2e-5 * scale, `max diff ${maxAbsDiff(a, b)} at scale ${scale}`);
  assert.ok(Math.abs((await m64.forward(batch)) - (await m32.forward(batch))) < 1e-5);
  m64.dispose();
  m32.dispose();
  be32.dispose();
});
