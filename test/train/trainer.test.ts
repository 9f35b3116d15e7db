import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { createBackend } from "../../src/backend/registry.js";
import { buildShards } from "../../src/data/shards.js";
import { parseModelConfig } from "../../src/model/config.js";
import { readMetrics } from "../../src/train/metrics.js";
import { trainRun } from "../../src/train/trainer.js";
import { DEFAULT_TRAIN_OPTIONS, type TrainOptions } from "../../src/train/types.js";

const config = parseModelConfig({
  name: "t-mqa-cla2",
  vocabSize: 260,
  dModel: 16,
  nLayers: 2,
  nHeads: 2,
  nKvHeads: 1,
  headDim: 8,
  ffnDim: 24,
  maxSeqLen: 16,
  kvSharing: 2,
  initStd: 0.05,
});
const options: TrainOptions = {
  ...DEFAULT_TRAIN_OPTIONS,
  steps: 8,
  batchSize: 2,
  seqLen: 16,
  lr: 3e-3,
  evalBatches: 2,
  evalEvery: 4,
};

let backend: Backend;
let dataDir: string;
const root = mkdtempSync(join(tmpdir(), "trainer-"));

before(async () => {
  backend = await createBackend("cpu");
  const jsonl = join(root, "corpus.jsonl");
  const para = "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun. ";
  const docs = Array.from({ length: 60 }, (_, i) =>
    JSON.stringify({ text: `${i} ${para.repeat(1 + (i % 3))}` }),
  );
  writeFileSync(jsonl, `${docs.join("\n")}\n`);
  dataDir = join(root, "data");
  const jsonlSource = { kind: "jsonl" as const, path: jsonl };
  await buildShards({
    sources: [jsonlSource],
    out: dataDir,
    tokenizer: "bytes",
    valFraction: 0.2,
    workers: 1,
  });
});
after(() => backend.dispose());

test("training lowers the loss and writes metrics, checkpoint and result", async () => {
  const out = join(root, "run-a");
  const r = await trainRun({ backend, config, dataDir, outDir: out, options, quiet: true });
  const train = readMetrics(join(out, "metrics.jsonl")).filter((m) => m.kind === "train");
  assert.equal(train.length, 8);
  assert.ok((train[7]!.loss as number) < (train[0]!.loss as number), "loss decreases on a repetitive corpus");
  assert.ok(Number.isFinite(r.finalValPpl) && r.finalValPpl > 1);
  assert.equal(r.interrupted, false);
  assert.ok(existsSync(join(out, "result.json")) && existsSync(join(out, "tokenizer.json")));
});

test("a run stopped mid-way and resumed reproduces the uninterrupted loss curve exactly", async () => {
  const full = join(root, "run-full");
  await trainRun({ backend, config, dataDir, outDir: full, options, quiet: true });
  const cut = join(root, "run-cut");
  const ctl = new AbortController();
  const first = await trainRun({
    backend,
    config,
    dataDir,
    outDir: cut,
    options,
    quiet: true,
    signal: ctl.signal,
    onStep: (step) => {
      if (step === 3) ctl.abort();
    },
  });
  assert.equal(first.interrupted, true);
  assert.equal(first.steps, 3);
  assert.ok(!existsSync(join(cut, "result.json")), "an interrupted run is not marked finished");
  await trainRun({ backend, config, dataDir, outDir: cut, options, quiet: true, resume: true });
  const curve = (dir: string) =>
    readMetrics(join(dir, "metrics.jsonl")).map((m) => [m.kind, m.step, m.loss] as const);
  assert.deepEqual(curve(cut), curve(full));
});

test("bad options and mismatched data are refused with the value named", async () => {
  const small = parseModelConfig({ ...config, vocabSize: 100 });
  await assert.rejects(
    trainRun({ backend, config: small, dataDir, outDir: join(root, "x"), options, quiet: true }),
    /vocabSize 100/,
  );
  await assert.rejects(
    trainRun({
      backend,
      config,
      dataDir,
      outDir: join(root, "y"),
      options: { ...options, seqLen: 64 },
      quiet: true,
    }),
    /seqLen 64 exceeds the model's maxSeqLen 16/,
  );
});
