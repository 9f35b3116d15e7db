// Tests for the sweep runner with an injected fake trainer (writes result.json like the real one,
// and a checkpoint marker it "resumes" from): grid expansion into run folders and records, the LR
// search then the other seeds at the best LR, and resumability (finished runs never repeated, an
// interrupted run resumed, a result.json without a record recorded, changed settings refused).
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { ConfigError } from "../../src/errors.js";
import { lrStep } from "../../src/experiments/lr-search.js";
import { runSweep, type TrainFn } from "../../src/experiments/runner.js";
import { loadResults } from "../../src/experiments/results.js";
import { parseSweepSpec } from "../../src/experiments/spec.js";
import type { TrainResult, TrainRunSpec } from "../../src/train/types.js";

const fakeBackend = { name: "cpu" } as unknown as Backend;

/** ppl convex in log(lr) with its minimum at `bestLr[config]`; seeds shift it a little. */
function pplOf(spec: TrainRunSpec, bestLr: Record<string, number>): number {
  const best = bestLr[spec.config.name] ?? 1e-3;
  return 10 + Math.log(spec.options.lr / best) ** 2 + spec.options.seed * 0.01;
}

interface Fake {
  train: TrainFn;
  calls: { run: string; lr: number; seed: number; resume: boolean }[];
  failOn?: string;
}

/** A trainer stand-in: records calls, "checkpoints", optionally dies once on `failOn`. */
function fakeTrainer(bestLr: Record<string, number>, failOn?: string): Fake {
  const fake: Fake = { calls: [], train: async () => ({}) as TrainResult, ...(failOn ? { failOn } : {}) };
  fake.train = async (spec) => {
    const run = spec.outDir.split("/").pop()!;
    fake.calls.push({ run, lr: spec.options.lr, seed: spec.options.seed, resume: spec.resume ?? false });
    mkdirSync(join(spec.outDir, "checkpoints"), { recursive: true });
    writeFileSync(join(spec.outDir, "checkpoints", "latest"), "step-5");
    if (fake.failOn === run) {
      fake.failOn = undefined;
      throw new Error("killed mid-run");
    }
    const ppl = pplOf(spec, bestLr);
    const o = spec.options;
    const result: TrainResult = {
      name: spec.config.name,
      outDir: spec.outDir,
      steps: o.steps,
      tokens: o.steps * o.batchSize * o.seqLen * o.gradAccum,
      params: 1234,
      kvBytesPerToken16: 0,
      finalTrainLoss: Math.log(ppl) + 0.1,
      finalValLoss: Math.log(ppl),
      finalValPpl: ppl,
      tokensPerSecond: 1000,
      seconds: 1,
      backend: "cpu",
      device: "fake",
      tensorCores: false,
      interrupted: false,
    };
    writeFileSync(join(spec.outDir, "result.json"), JSON.stringify(result));
    return result;
  };
  return fake;
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "study-runner-"));
}

const baseSpec = {
  name: "t",
  data: "/nonexistent-data",
  configs: ["tiny-H16-MQA", "tiny-H16-MQA-CLA2"],
  seeds: [1, 2],
  train: { steps: 4, batchSize: 2, seqLen: 16 },
};

test("grid: every (config, lr, seed) runs once, in its folder, with one record each", async () => {
  const out = tmp();
  const spec = parseSweepSpec({ ...baseSpec, lrs: [1e-3, 2e-3] });
  const fake = fakeTrainer({});
  let backendsMade = 0;
  const outcome = await runSweep(spec, {
    outDir: out,
    train: fake.train,
    backend: async () => {
      backendsMade++;
      return fakeBackend;
    },
    log: () => {},
  });
  assert.equal(backendsMade, 1);
  assert.deepEqual(
    fake.calls.map((c) => c.run),
    [
      "tiny-H16-MQA__lr1e-3__s1",
      "tiny-H16-MQA__lr1e-3__s2",
      "tiny-H16-MQA__lr2e-3__s1",
      "tiny-H16-MQA__lr2e-3__s2",
      "tiny-H16-MQA-CLA2__lr1e-3__s1",
      "tiny-H16-MQA-CLA2__lr1e-3__s2",
      "tiny-H16-MQA-CLA2__lr2e-3__s1",
      "tiny-H16-MQA-CLA2__lr2e-3__s2",
    ],
  );
  assert.ok(fake.calls.every((c) => !c.resume));
  assert.ok(existsSync(join(out, "runs", "tiny-H16-MQA__lr2e-3__s2", "result.json")));
  const recs = loadResults(join(out, "results.jsonl"));
  assert.equal(recs.length, 8);
  const r = recs.find((x) => x.run === "tiny-H16-MQA-CLA2__lr2e-3__s1")!;
  assert.equal(r.config, "tiny-H16-MQA-CLA2");
  assert.equal(r.kvBytesPerToken16, 192);
  assert.deepEqual(r.modelConfig.kvSharing, { kind: "uniform", factor: 2 });
  assert.equal(r.tokens, 4 * 2 * 16);
  assert.equal(r.device, "fake");
  assert.ok(Date.parse(r.startedAt) <= Date.parse(r.finishedAt));
  assert.equal(outcome.trained, 8);
  // both configs' curves have their minimum at 1e-3
  assert.deepEqual(
    outcome.configs.map((c) => c.bestLr),
    [1e-3, 1e-3],
  );
});

test("LR search on the first seed, then the other seeds at the best LR", async () => {
  const out = tmp();
  const spec = parseSweepSpec({ ...baseSpec, lrs: { base: 3e-4, factor: 1.5 }, seeds: [7, 8, 9] });
  const best = { "tiny-H16-MQA": lrStep(3e-4, 1.5, 2), "tiny-H16-MQA-CLA2": lrStep(3e-4, 1.5, 3) };
  const fake = fakeTrainer(best);
  const outcome = await runSweep(spec, {
    outDir: out,
    train: fake.train,
    backend: async () => fakeBackend,
    log: () => {},
  });
  const mqa = fake.calls.filter((c) => c.run.startsWith("tiny-H16-MQA__"));
  assert.deepEqual(
    mqa.map((c) => [c.lr, c.seed]),
    [
      [3e-4, 7],
      [4.5e-4, 7],
      [6.75e-4, 7],
      [1.0125e-3, 7],
      [6.75e-4, 8],
      [6.75e-4, 9],
    ],
  );
  assert.equal(outcome.configs[1]!.bestLr, lrStep(3e-4, 1.5, 3));
  assert.equal(outcome.configs[1]!.search!.tried.length, 5);
  assert.equal(outcome.configs[1]!.records.length, 5 + 2);
});

test("resumable: finished runs are not repeated, an interrupted run resumes, records are not duplicated", async () => {
  const out = tmp();
  const spec = parseSweepSpec({ ...baseSpec, lrs: { base: 3e-4 } });
  const best = { "tiny-H16-MQA": 6.75e-4, "tiny-H16-MQA-CLA2": 6.75e-4 };
  const opts = { outDir: out, backend: async () => fakeBackend, log: () => {} };
  const first = fakeTrainer(best, "tiny-H16-MQA__lr6.75e-4__s2");
  await assert.rejects(runSweep(spec, { ...opts, train: first.train }), /killed mid-run/);
  const doneBefore = first.calls.length - 1;
  assert.equal(loadResults(join(out, "results.jsonl")).length, doneBefore);

  const second = fakeTrainer(best);
  const outcome = await runSweep(spec, { ...opts, train: second.train });
  assert.equal(second.calls[0]!.run, "tiny-H16-MQA__lr6.75e-4__s2");
  assert.equal(second.calls[0]!.resume, true);
  assert.ok(second.calls.slice(1).every((c) => !c.resume && c.run.startsWith("tiny-H16-MQA-CLA2__")));
  assert.equal(outcome.reused, doneBefore);
  const all = first.calls.length - 1 + second.calls.length;
  assert.equal(loadResults(join(out, "results.jsonl")).length, all);

  const third = fakeTrainer(best);
  let backendMade = false;
  const again = await runSweep(spec, {
    ...opts,
    train: third.train,
    backend: async () => {
      backendMade = true;
      return fakeBackend;
    },
  });
  assert.equal(third.calls.length, 0);
  assert.equal(backendMade, false, "no backend is created when nothing needs training");
  assert.equal(again.reused, all);
  const lines = readFileSync(join(out, "results.jsonl"), "utf8").trim().split("\n");
  assert.equal(lines.length, all);
});

test("a stop signal: the run in flight reports interrupted, nothing is recorded, the next call resumes it", async () => {
  const out = tmp();
  const spec = parseSweepSpec({ ...baseSpec, configs: ["tiny-H16-MQA"], lrs: [1e-3, 2e-3], seeds: [1] });
  const stop = new AbortController();
  const fake = fakeTrainer({});
  const stopping: TrainFn = async (s) => {
    if (s.options.lr === 2e-3) {
      stop.abort();
      mkdirSync(join(s.outDir, "checkpoints"), { recursive: true });
      return { ...(await fake.train({ ...s, outDir: tmp() })), interrupted: true, steps: 2 };
    }
    return fake.train(s);
  };
  const opts = { outDir: out, backend: async () => fakeBackend, log: () => {} };
  const first = await runSweep(spec, { ...opts, train: stopping, signal: stop.signal });
  assert.equal(first.interrupted, true);
  assert.equal(first.configs.length, 0);
  assert.equal(loadResults(join(out, "results.jsonl")).length, 1);
  const again = fakeTrainer({});
  const second = await runSweep(spec, { ...opts, train: again.train });
  assert.equal(second.interrupted, false);
  assert.deepEqual(
    again.calls.map((c) => [c.lr, c.resume]),
    [[2e-3, true]],
  );
  assert.equal(loadResults(join(out, "results.jsonl")).length, 2);
});

test("an already-aborted signal starts no run and leaves no run folder", async () => {
  const out = tmp();
  const spec = parseSweepSpec({ ...baseSpec, lrs: [1e-3] });
  const fake = fakeTrainer({});
  const stop = new AbortController();
  stop.abort();
  const o = await runSweep(spec, {
    outDir: out,
    train: fake.train,
    backend: async () => fakeBackend,
    log: () => {},
    signal: stop.signal,
  });
  assert.equal(o.interrupted, true);
  assert.equal(fake.calls.length, 0);
  assert.ok(!existsSync(join(out, "runs")));
});

test("a result.json without a record (crash before the append) is recorded, not retrained", async () => {
  const out = tmp();
  const spec = parseSweepSpec({ ...baseSpec, configs: ["tiny-H16-MQA"], lrs: [1e-3], seeds: [1] });
  const opts = { outDir: out, backend: async () => fakeBackend, log: () => {} };
  await runSweep(spec, { ...opts, train: fakeTrainer({}).train });
  rmSync(join(out, "results.jsonl"));
  const fake = fakeTrainer({});
  await runSweep(spec, { ...opts, train: fake.train });
  assert.equal(fake.calls.length, 0);
  const recs = loadResults(join(out, "results.jsonl"));
  assert.equal(recs.length, 1);
  assert.equal(recs[0]!.finalValPpl, 10.01);
});

test("resuming a started run with other settings is refused, naming the field", async () => {
  const out = tmp();
  const raw = { ...baseSpec, configs: ["tiny-H16-MQA"], lrs: [1e-3], seeds: [1] };
  const opts = { outDir: out, backend: async () => fakeBackend, log: () => {} };
  const dying = fakeTrainer({}, "tiny-H16-MQA__lr1e-3__s1");
  await assert.rejects(runSweep(parseSweepSpec(raw), { ...opts, train: dying.train }));
  const changed = parseSweepSpec({ ...raw, train: { ...raw.train, steps: 8 } });
  await assert.rejects(
    runSweep(changed, { ...opts, train: fakeTrainer({}).train }),
    (e: unknown) => e instanceof ConfigError && /train\.steps \(4 -> 8\)/.test(e.message),
  );
});

test("a time budget starts no run that would end after it, keeps whole runs, and the next call resumes", async () => {
  const out = tmp();
  const spec = parseSweepSpec({ ...baseSpec, lrs: [1e-3] });
  // a fake clock: every training call takes 100 s
  let clock = 0;
  const fake = fakeTrainer({});
  const timed: TrainFn = async (s) => {
    clock += 100;
    return fake.train(s);
  };
  const lines: string[] = [];
  const opts = { outDir: out, backend: async () => fakeBackend, now: () => clock };
  const first = await runSweep(spec, {
    ...opts,
    train: timed,
    timeBudgetSeconds: 250,
    log: (l) => lines.push(l),
  });
  // 2 runs end at 200 s; a third would end at 300 s > 250 s
  assert.equal(first.trained, 2);
  assert.equal(first.interrupted, true);
  assert.match(
    lines.join("\n"),
    /time budget: 200 s spent \+ 100 s for the longest run > 250 s; tiny-H16-MQA-CLA2__lr1e-3__s1 not started/,
  );
  assert.ok(!existsSync(join(out, "runs", "tiny-H16-MQA-CLA2__lr1e-3__s1")));
  // the first run of a call always starts, however small the budget
  const second = await runSweep(spec, { ...opts, train: timed, timeBudgetSeconds: 1, log: () => {} });
  assert.equal(second.trained, 1);
  assert.equal(second.reused, 2);
  const third = await runSweep(spec, { ...opts, train: timed, log: () => {} });
  assert.equal(third.trained, 1);
  assert.equal(third.interrupted, false);
  assert.equal(loadResults(join(out, "results.jsonl")).length, 4);
});
