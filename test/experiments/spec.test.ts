// Tests for the sweep spec and the plan: a valid spec resolves (presets, overrides, defaults,
// tokens -> steps, paths against the spec's folder); each invalid one fails with a ConfigError
// naming the field; grid expansion and run counts against hand-counted values.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigError } from "../../src/errors.js";
import { planSweep, runName } from "../../src/experiments/plan.js";
import { loadSweepSpec, parseSweepSpec, tokensPerRun } from "../../src/experiments/spec.js";
import { countParams } from "../../src/model/accounting.js";
import { DEFAULT_TRAIN_OPTIONS } from "../../src/train/types.js";

const base = {
  name: "study",
  data: "data/tiny",
  configs: ["tiny-H16-MQA", { preset: "tiny-H16-MQA", overrides: { kvSharing: 2 }, name: "mine-CLA2" }],
  lrs: [1e-3, 2e-3],
  seeds: [1, 2],
  train: { steps: 10, batchSize: 2, seqLen: 32 },
};

function rejects(json: unknown, ...patterns: RegExp[]): void {
  assert.throws(
    () => parseSweepSpec(json, { source: "spec.json" }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
      for (const p of patterns) assert.match(e.message, p);
      assert.match(e.message, /^spec\.json: /);
      return true;
    },
  );
}

test("a valid spec resolves presets, overrides and defaults", () => {
  const s = parseSweepSpec(base, { baseDir: "/base" });
  assert.equal(s.dataDir, "/base/data/tiny");
  assert.deepEqual(
    s.configs.map((c) => c.name),
    ["tiny-H16-MQA", "mine-CLA2"],
  );
  assert.deepEqual(s.configs[1]!.config.kvSharing, { kind: "uniform", factor: 2 });
  assert.equal(s.configs[1]!.config.name, "mine-CLA2");
  assert.equal(s.configs[1]!.config.headDim, 16);
  assert.deepEqual(s.lr, { kind: "grid", lrs: [1e-3, 2e-3] });
  assert.equal(s.train.steps, 10);
  assert.equal(s.train.weightDecay, DEFAULT_TRAIN_OPTIONS.weightDecay);
  assert.equal(s.train.gradAccum, 1);
  assert.ok(!("lr" in s.train) && !("seed" in s.train));
});

test("an LR search gets its defaults; tokens sets steps (rounded up to whole steps)", () => {
  const s = parseSweepSpec({
    ...base,
    lrs: { base: 3e-4 },
    train: { tokens: 1000, batchSize: 2, seqLen: 32, gradAccum: 2 },
  });
  assert.deepEqual(s.lr, { kind: "search", base: 3e-4, factor: 1.5, untilWorse: true, max: 8 });
  assert.equal(s.train.steps, Math.ceil(1000 / (2 * 32 * 2)));
  assert.equal(tokensPerRun(s.train), 8 * 128);
});

test("invalid specs name the field", () => {
  rejects({ ...base, config: base.configs }, /unknown field "config"/, /did you mean "configs"/);
  const { lrs: _, ...noLrs } = base;
  rejects(noLrs, /field "lrs" is required/);
  rejects({ ...base, lrs: { base: -1 } }, /field "lrs\.base" = -1/);
  rejects({ ...base, lrs: { base: 1e-3, factr: 2 } }, /unknown field "lrs\.factr"/, /did you mean "factor"/);
  rejects({ ...base, lrs: [1e-3, 1e-3] }, /"lrs" lists 0\.001 twice/);
  rejects({ ...base, lrs: [] }, /field "lrs"/);
  rejects(
    { ...base, configs: ["tiny-H16-MQQ"] },
    /configs\[0\]/,
    /unknown preset "tiny-H16-MQQ"/,
    /did you mean/,
  );
  rejects(
    { ...base, configs: [{ preset: "tiny-H16-MQA", overrides: { nKvHeads: 2 } }] },
    /configs\[0\]\.name" is required/,
  );
  rejects(
    { ...base, configs: [{ preset: "tiny-H16-MQA", overrides: { nKvHeads: 3 }, name: "x" }] },
    /nKvHeads 3 does not divide/,
  );
  rejects({ ...base, configs: ["tiny-H16-MQA", "tiny-H16-MQA"] }, /both named "tiny-H16-MQA"/);
  rejects({ ...base, configs: [42] }, /field "configs\[0\]" = 42 is invalid/);
  rejects({ ...base, train: { lr: 1e-3 } }, /"train\.lr" is set by the sweep/, /"lrs"/);
  rejects({ ...base, train: { stpes: 10 } }, /unknown field "train\.stpes"/, /did you mean "steps"/);
  rejects({ ...base, train: { steps: 0 } }, /field "train\.steps" = 0 is invalid/);
  rejects(
    { ...base, train: { steps: 3, tokens: 1000, batchSize: 2, seqLen: 32 } },
    /"train\.steps" \(3\) and "train\.tokens" \(1000\) disagree/,
  );
  rejects(
    { ...base, train: { seqLen: 512 } },
    /"train\.seqLen" = 512 exceeds maxSeqLen 256 of config "tiny-H16-MQA"/,
  );
  rejects({ ...base, seeds: [1, 1] }, /"seeds" lists 1 twice/);
  rejects({ ...base, name: "a/b" }, /field "name" = "a\/b" is invalid/);
  rejects([], /must be a JSON object/);
});

test("loadSweepSpec resolves data and config files against the spec's folder", () => {
  const dir = mkdtempSync(join(tmpdir(), "study-spec-"));
  const cfg = { vocabSize: 64, dModel: 32, nLayers: 2, nHeads: 2, nKvHeads: 1, ffnDim: 64, maxSeqLen: 64 };
  writeFileSync(join(dir, "my-model.json"), JSON.stringify(cfg));
  writeFileSync(
    join(dir, "spec.json"),
    JSON.stringify({ ...base, configs: ["my-model.json"], data: "shards" }),
  );
  const s = loadSweepSpec(join(dir, "spec.json"));
  assert.equal(s.dataDir, join(dir, "shards"));
  assert.equal(s.configs[0]!.name, "my-model");
  assert.throws(() => loadSweepSpec(join(dir, "missing.json")), /cannot read sweep spec/);
  writeFileSync(join(dir, "bad.json"), "{");
  assert.throws(() => loadSweepSpec(join(dir, "bad.json")), /not valid JSON/);
});

test("plan: grid run count, run names, params and tokens per parameter", () => {
  const s = parseSweepSpec(base);
  const plan = planSweep(s, { readData: false });
  assert.deepEqual(plan.runs, [2 * 2 * 2, 8]);
  const tokens = 10 * 2 * 32;
  assert.equal(plan.tokensPerRun, tokens);
  const p = countParams(s.configs[0]!.config).total;
  assert.equal(plan.rows[0]!.params, p);
  assert.equal(plan.rows[0]!.tokensPerParam, tokens / p);
  // MQA, D 16, 6 layers, 2 bytes: 2 x 1 x 16 x 6 x 2; CLA2 halves the layers
  assert.equal(plan.rows[0]!.kvBytesPerToken16, 384);
  assert.equal(plan.rows[1]!.kvBytesPerToken16, 192);
  assert.equal(plan.rows[1]!.group, "MQA+CLA2");
  assert.equal(runName("tiny-H16-MQA", 4.5e-4, 2), "tiny-H16-MQA__lr4.5e-4__s2");
});

test("plan: an LR search's run bounds include the other seeds at the best LR", () => {
  const s = parseSweepSpec({ ...base, lrs: { base: 3e-4, max: 5 }, seeds: [1, 2, 3] });
  const plan = planSweep(s, { readData: false });
  // per config: fewest 3 (base, up, then down or a second up), most 5; plus 2 seeds at the best
  assert.deepEqual(plan.runs, [2 * (3 + 2), 2 * (5 + 2)]);
  assert.match(plan.lrText, /search from 3e-4 by x1\.5/);
});

test("plan warns about a vocabulary the data exceeds, repeated data and unreadable data", () => {
  const dir = mkdtempSync(join(tmpdir(), "study-plan-"));
  const split = (tokens: number) => ({ documents: 1, tokens, shards: [] });
  const manifest = {
    format: "crosslayer-shards",
    version: 1,
    createdAt: "2026-01-01T00:00:00Z",
    dtype: "uint16",
    tokenizer: {
      file: "tokenizer.json",
      kind: "bpe",
      vocabSize: 5000,
      eotId: null,
      sha256: "x",
      from: "bpe",
    },
    sources: [],
    split: { method: "sha256-of-document-id", valFraction: 0.1 },
    splits: { train: split(100), val: split(10) },
    options: {},
  };
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(manifest));
  const plan = planSweep(parseSweepSpec({ ...base, data: dir }));
  assert.equal(plan.dataTrainTokens, 100);
  assert.equal(plan.warnings.length, 2);
  assert.match(plan.warnings[0]!, /5000 tokens, more than vocabSize of tiny-H16-MQA, mine-CLA2/);
  assert.match(plan.warnings[1]!, /6\.4 epochs/);
  const missing = planSweep(parseSweepSpec({ ...base, data: join(dir, "nope") }));
  assert.match(missing.warnings[0]!, /build shards first/);
});
