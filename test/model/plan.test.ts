// Tests for the capacity planner: a hand-worked budget, block rounding, MQA-CLA2 holding twice
// MQA's sequences, the "does not fit" case, and size / token-count parsing with clear errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError } from "../../src/errors.js";
import { countParams } from "../../src/model/accounting.js";
import { loadModelConfig } from "../../src/model/config.js";
import { formatBytes, parseByteSize, parseTokenCount, planCapacity } from "../../src/model/plan.js";

const GiB = 2 ** 30;

test("hand-worked plan: 1B H128-MQA-CLA2 in 16 GiB at 4096 tokens", () => {
  const cfg = loadModelConfig("H128-MQA-CLA2");
  const p = planCapacity(cfg, { memoryBytes: 16 * GiB, context: 4096, kvDtype: "f16", weightsDtype: "f16" });
  const params = countParams(cfg).total;
  assert.equal(p.weightsBytes, 2 * params);
  assert.equal(p.reserveBytes, Math.floor(0.05 * 16 * GiB));
  assert.equal(p.kvBytesPerToken, 5120);
  assert.equal(p.blocksPerSequence, 256);
  assert.equal(p.kvBytesPerSequence, 4096 * 5120);
  const budget = 16 * GiB - 2 * params - Math.floor(0.05 * 16 * GiB);
  assert.equal(p.kvBudgetBytes, budget);
  assert.equal(p.maxSequences, Math.floor(budget / (4096 * 5120)));
  assert.equal(p.kvBlocks, Math.floor(budget / (16 * 5120)));
  assert.ok(p.fits);
});

test("context rounds up to whole blocks", () => {
  const cfg = loadModelConfig("tiny-H16-MQA");
  const p = planCapacity(cfg, { memoryBytes: 64 * 2 ** 20, context: 17, blockSize: 16, reserveBytes: 0 });
  assert.equal(p.blocksPerSequence, 2);
  assert.equal(p.kvBytesPerSequence, 32 * p.kvBytesPerToken);
  assert.equal(
    planCapacity(cfg, { memoryBytes: 2 ** 26, context: 16, reserveBytes: 0 }).blocksPerSequence,
    1,
  );
});

test("MQA-CLA2 holds twice MQA's sequences (a little more: fewer weights)", () => {
  for (const [a, b] of [
    ["H128-MQA", "H128-MQA-CLA2"],
    ["small-H64-MQA", "small-H64-MQA-CLA2"],
  ] as const) {
    const opts = { memoryBytes: 16 * GiB, context: 4096 };
    const mqa = planCapacity(loadModelConfig(a), opts);
    const cla = planCapacity(loadModelConfig(b), opts);
    assert.equal(cla.kvBytesPerSequence * 2, mqa.kvBytesPerSequence);
    assert.ok(cla.maxSequences >= 2 * mqa.maxSequences, `${cla.maxSequences} vs ${mqa.maxSequences}`);
    assert.ok(cla.maxSequences <= 2 * mqa.maxSequences + 2, `${cla.maxSequences} vs ${mqa.maxSequences}`);
  }
});

test("weights that do not fit: zero sequences, fits false", () => {
  const p = planCapacity(loadModelConfig("H128-MHA"), { memoryBytes: GiB, context: 2048 });
  assert.equal(p.fits, false);
  assert.equal(p.maxSequences, 0);
  assert.equal(p.kvBudgetBytes, 0);
  assert.throws(
    () => planCapacity(loadModelConfig("H128-MHA"), { memoryBytes: GiB, context: 0 }),
    ConfigError,
  );
  assert.throws(
    () => planCapacity(loadModelConfig("H128-MHA"), { memoryBytes: GiB, context: 8, blockSize: 1.5 }),
    /block size 1.5 is invalid/,
  );
});

test("parseByteSize / parseTokenCount / formatBytes", () => {
  assert.equal(parseByteSize("16GiB"), 16 * GiB);
  assert.equal(parseByteSize("512MiB"), 512 * 2 ** 20);
  assert.equal(parseByteSize("1.5GB"), 1_500_000_000);
  assert.equal(parseByteSize("1.5 gib"), 1.5 * GiB);
  assert.equal(parseByteSize("4096"), 4096);
  assert.throws(
    () => parseByteSize("16G", "--memory"),
    /--memory "16G": "G" is ambiguous: write 16GiB .* or 16GB/,
  );
  assert.throws(() => parseByteSize("16 furlongs"), /unknown unit "furlongs"/);
  assert.throws(() => parseByteSize("lots"), /is not a size/);
  assert.equal(parseTokenCount("4096"), 4096);
  assert.equal(parseTokenCount("32k"), 32768);
  assert.throws(() => parseTokenCount("0"), /not a token count/);
  assert.throws(() => parseTokenCount("4.5k"), /not a token count/);
  assert.equal(formatBytes(1536), "1.50 KiB");
  assert.equal(formatBytes(100), "100 B");
  assert.equal(formatBytes(16 * GiB), "16.0 GiB");
});
