import assert from "node:assert/strict";
import { test } from "node:test";
import { RequestError, SamplingError } from "../../src/infer/errors.js";
import { createRng } from "../../src/infer/rng.js";
import { filteredDistribution, Sampler } from "../../src/infer/sampler.js";

const softmax = (x: number[], t = 1) => {
  const m = Math.max(...x);
  const e = x.map((v) => Math.exp((v - m) / t));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
};

test("greedy: argmax, lowest id on ties, -Infinity masked, penalty applied", () => {
  const s = new Sampler({ temperature: 0 }, 1);
  assert.equal(s.sample([0.1, 3, -1, 3]), 1);
  assert.equal(s.sample([Number.NEGATIVE_INFINITY, -5, -4]), 2);
  const pen = new Sampler({ temperature: 0, repetitionPenalty: 2 }, 1);
  // token 1: 3 / 2 = 1.5 < 2 (token 0); token 2 was negative: -1 * 2 = -2.
  assert.equal(pen.sample([2, 3, -1], [1, 1, 2]), 0);
  assert.equal(pen.sample([2, 5, -1], [1]), 1, "5 / 2 = 2.5 still wins");
});

test("top-k keeps exactly the k most likely tokens, renormalised", () => {
  const logits = [0.5, 2, -1, 1.5, 0];
  const d = filteredDistribution(logits, { topK: 2 });
  assert.deepEqual([...d.ids], [1, 3]);
  const want = softmax([2, 1.5]);
  d.probs.forEach((p, i) => {
    assert.ok(Math.abs(p - want[i]!) < 1e-12);
  });
});

test("top-p keeps exactly the smallest most-likely prefix with mass >= p (brute force over random rows)", () => {
  const rng = createRng(7);
  for (let trial = 0; trial < 200; trial++) {
    const V = 2 + (rng.nextU32() % 12);
    const logits = Array.from({ length: V }, () => rng.next() * 6 - 3);
    const topP = 0.05 + rng.next() * 0.9;
    const temperature = 0.5 + rng.next();
    const probs = softmax(logits, temperature);
    const order = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!);
    let k = 0;
    let mass = 0;
    while (mass < topP) mass += probs[order[k++]!]!;
    const d = filteredDistribution(logits, { topP, temperature });
    assert.deepEqual([...d.ids], order.slice(0, k), `trial ${trial}`);
    d.probs.forEach((p, i) => {
      assert.ok(Math.abs(p - probs[order[i]!]! / mass) < 1e-9);
    });
    // Minimality: the prefix one shorter does not reach p.
    assert.ok(mass - probs[order[k - 1]!]! < topP);
  }
});

test("top-p on a hand-built distribution [.5, .25, .125, .125]", () => {
  const logits = [Math.log(0.5), Math.log(0.125), Math.log(0.25), Math.log(0.125)];
  assert.deepEqual([...filteredDistribution(logits, { topP: 0.4 }).ids], [0]);
  assert.deepEqual([...filteredDistribution(logits, { topP: 0.6 }).ids], [0, 2]);
  assert.deepEqual([...filteredDistribution(logits, { topP: 0.8 }).ids], [0, 2, 1], "tie broken by lower id");
  assert.deepEqual([...filteredDistribution(logits, { topP: 1 }).ids], [0, 1, 2, 3]);
});

test("seeded sampling frequencies match the softmax (chi-square, fixed seed)", () => {
  const logits = [1, 0.2, -0.5, 2, 0, -2];
  const temperature = 0.8;
  const p = softmax(logits, temperature);
  const s = new Sampler({ temperature }, 12345);
  const n = 40000;
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < n; i++) counts[s.sample(logits)]++;
  const chi2 = counts.reduce((acc, c, i) => acc + (c - n * p[i]!) ** 2 / (n * p[i]!), 0);
  assert.ok(chi2 < 20.5, `chi2 ${chi2.toFixed(2)} with 5 degrees of freedom (p = 0.001 cut-off 20.5)`);
});

test("top-k + top-p sampling never leaves the filtered set and follows it", () => {
  const logits = [3, 2.5, 2, 0, -1, 1];
  const d = filteredDistribution(logits, { topK: 4, topP: 0.7 });
  const s = new Sampler({ topK: 4, topP: 0.7 }, 99);
  const counts = new Map<number, number>();
  for (let i = 0; i < 20000; i++) {
    const t = s.sample(logits);
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  assert.deepEqual([...counts.keys()].sort(), [...d.ids].sort());
  d.ids.forEach((id, i) => {
    assert.ok(Math.abs(counts.get(id)! / 20000 - d.probs[i]!) < 0.015);
  });
});

test("equal seeds give equal token streams; different seeds differ", () => {
  const logits = Array.from({ length: 50 }, (_, i) => Math.sin(i));
  const run = (seed: number) => {
    const s = new Sampler({ temperature: 1.2, topP: 0.95 }, seed);
    return Array.from({ length: 64 }, () => s.sample(logits));
  };
  assert.deepEqual(run(5), run(5));
  assert.notDeepEqual(run(5), run(6));
});

test("bad logits throw SamplingError; bad parameters throw RequestError naming the value", () => {
  const s = new Sampler({}, 0);
  assert.throws(
    () => s.sample([0, Number.NaN]),
    (e) => e instanceof SamplingError && /logits\[1\] is NaN/.test(e.message),
  );
  assert.throws(() => s.sample([Number.POSITIVE_INFINITY]), SamplingError);
  assert.throws(
    () => s.sample([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]),
    /all 2 logits are -Infinity/,
  );
  const bad = (p: object, re: RegExp) =>
    assert.throws(
      () => new Sampler(p, 0),
      (e) => e instanceof RequestError && e.code === "invalid-sampling" && re.test(e.message),
    );
  bad({ temperature: -1 }, /temperature -1 is invalid: use a finite number >= 0/);
  bad({ topK: 1.5 }, /topK 1.5/);
  bad({ topP: 0 }, /topP 0 is invalid: use a number in \(0, 1\]/);
  bad({ topP: 1.1 }, /topP 1.1/);
  bad({ repetitionPenalty: 0 }, /repetitionPenalty 0/);
  assert.throws(() => new Sampler({}, -3), /seed -3 is invalid/);
});
