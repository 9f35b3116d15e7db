// Tests for the LR search's stepping logic with a fake evaluate(): a perplexity curve convex in
// log(lr) with a known minimum; the search must try exactly the LRs the rule implies and stop
// at the right one (up while improving, one step down when the first step up is worse).
import assert from "node:assert/strict";
import { test } from "node:test";
import { canonicalLr, formatLr, lrStep, searchLr, searchRunBounds } from "../../src/experiments/lr-search.js";

/** ppl = 10 + log(lr / best)^2: convex in log(lr), minimum 10 at `best`. */
function convex(best: number): (lr: number) => Promise<number> {
  return async (lr) => 10 + Math.log(lr / best) ** 2;
}

const opts = { base: 3e-4, factor: 1.5, untilWorse: true, max: 8 };

test("LR ladder values are canonical", () => {
  assert.equal(lrStep(3e-4, 1.5, 1), 4.5e-4);
  assert.equal(lrStep(3e-4, 1.5, 3), 1.0125e-3);
  assert.equal(lrStep(3e-4, 1.5, -1), 2e-4);
  assert.equal(canonicalLr(0.1 + 0.2), 0.3);
  assert.equal(formatLr(1.0125e-3), "1.0125e-3");
  assert.equal(formatLr(3e-4), "3e-4");
  assert.equal(formatLr(1), "1e0");
});

test("steps up while improving and stops at the first worse LR", async () => {
  const best = lrStep(3e-4, 1.5, 4); // 1.51875e-3
  const r = await searchLr(opts, convex(best));
  assert.deepEqual(
    r.tried.map((t) => t.lr),
    [0, 1, 2, 3, 4, 5].map((k) => lrStep(3e-4, 1.5, k)),
  );
  assert.equal(r.best, best);
  assert.equal(r.bestPpl, 10);
});

test("a minimum between ladder steps: the nearer step wins", async () => {
  // minimum at 3e-4 x 1.5^2.4: ladder k=2 is closer in log space than k=3
  const r = await searchLr(opts, convex(3e-4 * 1.5 ** 2.4));
  assert.equal(r.best, lrStep(3e-4, 1.5, 2));
  assert.equal(r.tried.length, 4);
});

test("first step up worse: one step down from the base, and no further", async () => {
  const r = await searchLr(opts, convex(1e-4));
  assert.deepEqual(
    r.tried.map((t) => t.lr),
    [3e-4, 4.5e-4, 2e-4],
  );
  assert.equal(r.best, 2e-4);
  const atBase = await searchLr(opts, convex(3e-4));
  assert.deepEqual(
    atBase.tried.map((t) => t.lr),
    [3e-4, 4.5e-4, 2e-4],
  );
  assert.equal(atBase.best, 3e-4);
});

test("max caps the upward steps", async () => {
  const r = await searchLr({ ...opts, max: 3 }, convex(1));
  assert.deepEqual(
    r.tried.map((t) => t.lr),
    [3e-4, 4.5e-4, 6.75e-4],
  );
  assert.equal(r.best, 6.75e-4);
});

test("untilWorse false tries every upward LR and picks the best", async () => {
  const best = lrStep(3e-4, 1.5, 2);
  const r = await searchLr({ ...opts, untilWorse: false, max: 5 }, convex(best));
  assert.equal(r.tried.length, 5);
  assert.equal(r.best, best);
});

test("a diverged run (NaN) counts as worse", async () => {
  const r = await searchLr(opts, async (lr) => (lr > 5e-4 ? Number.NaN : 20 - lr * 1e4));
  assert.equal(r.best, 4.5e-4);
  assert.equal(r.tried.length, 3);
});

test("run bounds match what the search can do", async () => {
  assert.deepEqual(searchRunBounds({ untilWorse: true, max: 8 }), [3, 8]);
  assert.deepEqual(searchRunBounds({ untilWorse: true, max: 2 }), [2, 3]);
  assert.deepEqual(searchRunBounds({ untilWorse: true, max: 1 }), [1, 1]);
  assert.deepEqual(searchRunBounds({ untilWorse: false, max: 4 }), [4, 5]);
  // every outcome of a max-2 search lies in its bounds
  for (const best of [1e-5, 3e-4, 1]) {
    const n = (await searchLr({ ...opts, max: 2 }, convex(best))).tried.length;
    assert.ok(n >= 2 && n <= 3, `max 2 search took ${n} runs`);
  }
});
