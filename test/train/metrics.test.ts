import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MetricsLog, readMetrics } from "../../src/train/metrics.js";

test("metrics append, survive a torn last line, and truncate on resume", () => {
  const path = join(mkdtempSync(join(tmpdir(), "m-")), "metrics.jsonl");
  const log = new MetricsLog(path);
  for (let step = 1; step <= 5; step++) log.append({ kind: "train", step, loss: 10 - step });
  appendFileSync(path, '{"kind":"train","st'); // a crash mid-append
  assert.deepEqual(
    readMetrics(path).map((r) => r.step),
    [1, 2, 3, 4, 5],
  );
  log.truncateAfter(3);
  log.append({ kind: "train", step: 4, loss: 1 });
  assert.deepEqual(
    readMetrics(path).map((r) => [r.step, r.loss]),
    [
      [1, 9],
      [2, 8],
      [3, 7],
      [4, 1],
    ],
  );
});
