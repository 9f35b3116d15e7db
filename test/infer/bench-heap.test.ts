// collectGarbage (bench/heap.ts): a full collection really runs (an unreachable object held only
// weakly is gone after it), and repeated calls keep working.
import assert from "node:assert/strict";
import { test } from "node:test";
import { collectGarbage } from "../../src/bench/heap.js";

test("collectGarbage collects an unreachable object", async () => {
  let ref: WeakRef<object> | null = null;
  (() => {
    ref = new WeakRef({ payload: new Array(1000).fill(1) });
  })();
  // a WeakRef keeps its target for the rest of the job that created it
  await new Promise((r) => setImmediate(r));
  assert.equal(collectGarbage(), true);
  assert.equal(ref!.deref(), undefined);
  const kept = { alive: true };
  const strong = new WeakRef(kept);
  await new Promise((r) => setImmediate(r));
  assert.equal(collectGarbage(), true);
  assert.equal(strong.deref(), kept, "a reachable object survives");
});
