import assert from "node:assert/strict";
import { test } from "node:test";
import { lrAt, validateSchedule } from "../../src/train/schedule.js";

const s = { peak: 1e-3, warmupSteps: 5, totalSteps: 105 };

test("warmup is linear from peak/warmup to peak", () => {
  assert.equal(lrAt(1, s), 2e-4);
  assert.ok(Math.abs(lrAt(5, s) - 1e-3) < 1e-15);
});

test("cosine reaches exactly minRatio x peak at the last step, half-way at the midpoint", () => {
  assert.ok(Math.abs(lrAt(105, s) - 1e-4) < 1e-15);
  // midpoint of decay: cos(pi/2) = 0 -> 0.1 + 0.9 * 0.5 = 0.55 of peak
  assert.ok(Math.abs(lrAt(55, s) - 0.55e-3) < 1e-15);
  for (let i = 6; i < 105; i++) assert.ok(lrAt(i + 1, s) <= lrAt(i, s));
});

test("bad schedules are refused with the value named", () => {
  assert.throws(() => validateSchedule({ peak: -1, warmupSteps: 0, totalSteps: 1 }), /-1/);
  assert.throws(() => validateSchedule({ peak: 1e-3, warmupSteps: 10, totalSteps: 5 }), /warmup 10/);
});
