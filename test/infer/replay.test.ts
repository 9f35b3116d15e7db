// Replayed decode steps (Backend.replayable: the webgpu runtime re-issues a recorded step's
// dispatches without running the ops' host code) and chained steps (input tokens taken from the
// previous step's device argmax, submitted before that step is read) give exactly the tokens and
// logits of steps recorded op by op; the tape cache recaptures, gives up and evicts as documented.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import type { WebGpuBackend } from "../../src/backend/webgpu/webgpu-backend.js";
import { ReplayCache, type Tape, type TapeRuntime } from "../../src/backend/webgpu/tape.js";
import { CachedForward, type ForwardItem } from "../../src/infer/cached-forward.js";
import { Model } from "../../src/model/model.js";
import { testBackends } from "../helpers/backends.js";
import { newTestCache, tinyConfig } from "./model-configs.js";

const cfg = tinyConfig("MQA-CLA2", 1, { kind: "uniform", factor: 2 }, "f16");
const PROMPTS: Record<string, number[]> = { a: [5, 9, 1], b: [3, 36, 12, 7] };

async function webgpu(): Promise<WebGpuBackend | undefined> {
  return (await testBackends()).find((b) => b.name === "webgpu") as WebGpuBackend | undefined;
}

/** A cache + forward with both prompts prefilled; `next(ids)` builds one decode item per id. */
async function session(be: Backend, model: Model) {
  const cache = newTestCache(be, cfg, 32);
  const fwd = new CachedForward(model, cache);
  const last: Record<string, number> = {};
  const prefill: ForwardItem[] = Object.entries(PROMPTS).map(([id, p]) => {
    cache.allocateFor(id, 24);
    return { id, start: 0, tokens: p, slots: cache.append(id, p.length), sample: true };
  });
  const first = await fwd.runGreedy(prefill);
  assert.equal(first.kind, "tokens");
  prefill.forEach((it, i) => {
    last[it.id] = (first as { tokens: Int32Array }).tokens[i]!;
  });
  const next = (ids: string[]): ForwardItem[] =>
    ids.map((id) => {
      const start = cache.length(id);
      return { id, start, tokens: [last[id]!], slots: cache.append(id, 1), sample: true };
    });
  const take = (ids: string[], tokens: Int32Array) =>
    ids.forEach((id, i) => {
      last[id] = tokens[i]!;
    });
  return { cache, fwd, next, take };
}

/** 6 steps of both sequences, then 5 of "a" alone (a new batch shape). */
const SCHEDULE = [...Array(6).fill(["a", "b"]), ...Array(5).fill(["a"])] as string[][];

async function greedyRun(be: WebGpuBackend, model: Model, replay: boolean) {
  be.rt.replayEnabled = replay;
  const s = await session(be, model);
  const out: { tokens: number[]; logits: number[] }[] = [];
  for (const ids of SCHEDULE) {
    const r = await s.fwd.runGreedy(s.next(ids));
    assert.equal(r.kind, "tokens");
    const tokens = (r as { tokens: Int32Array }).tokens;
    s.take(ids, tokens);
    out.push({ tokens: [...tokens], logits: [...(await s.fwd.lastLogitRows())] });
  }
  s.fwd.dispose();
  s.cache.dispose();
  be.rt.replayEnabled = true;
  return out;
}

test("a replayed decode step gives the same tokens and logits as the step run op by op", async (t) => {
  const be = await webgpu();
  if (!be) return t.skip("no webgpu backend here");
  const model = Model.create(be, cfg, { seed: 3 });
  const plain = await greedyRun(be, model, false);
  const replays0 = be.rt.stats.replays;
  const replayed = await greedyRun(be, model, true);
  // 11 decode steps over 2 batch shapes: each shape is captured once, then replayed
  assert.equal(be.rt.stats.replays - replays0, SCHEDULE.length - 2);
  assert.deepEqual(replayed, plain);
  model.dispose();
});

test("chained steps (tokens from the device argmax, submitted before the last read) match", async (t) => {
  const be = await webgpu();
  if (!be) return t.skip("no webgpu backend here");
  const model = Model.create(be, cfg, { seed: 3 });
  const plain = await greedyRun(be, model, false);
  const s = await session(be, model);
  const got: number[][] = [];
  const both = SCHEDULE.filter((ids) => ids.length === 2);
  let pending = s.fwd.runGreedy(s.next(["a", "b"]));
  for (let i = 1; i < both.length; i++) {
    const next = s.fwd.runGreedy(s.next(["a", "b"]), { chained: true });
    got.push([...((await pending) as { tokens: Int32Array }).tokens]);
    pending = next;
  }
  got.push([...((await pending) as { tokens: Int32Array }).tokens]);
  assert.deepEqual(
    got,
    plain.slice(0, both.length).map((r) => r.tokens),
  );
  // a chained step must continue the last greedy step's rows
  await assert.rejects(
    s.fwd.runGreedy(s.next(["a"]), { chained: true }),
    /chained step needs one sampled token per item for the 2 rows/,
  );
  s.fwd.dispose();
  s.cache.dispose();
  model.dispose();
});

test("replays whose params stay resident in the GPU ring equal op-by-op steps, other work interleaved", async (t) => {
  const be = await webgpu();
  if (!be) return t.skip("no webgpu backend here");
  const model = Model.create(be, cfg, { seed: 3 });
  const buf = be.createBuffer(64, "f32");
  const other = { buffer: buf, offset: 0, shape: [64], dtype: "f32" as const };
  // runs of one shape (the tape's params stay resident), shape switches, and unrelated ops
  // (their params overwrite the ring's first slots) between some steps
  const schedule = [["a", "b"], ["a", "b"], ["a", "b"], ["a"], ["a"], ["a", "b"], ["a"], ["a"], ["a"]];
  const run = async (replay: boolean) => {
    be.rt.replayEnabled = replay;
    const s = await session(be, model);
    const out: number[][] = [];
    const uploads: number[] = [];
    for (const [i, ids] of schedule.entries()) {
      if (i % 4 === 3) be.fill(other, i);
      const u0 = be.rt.ring.uploads;
      const r = (await s.fwd.runGreedy(s.next(ids))) as { tokens: Int32Array };
      uploads.push(be.rt.ring.uploads - u0);
      s.take(ids, r.tokens);
      out.push([...r.tokens, ...(await s.fwd.lastLogitRows())]);
    }
    s.fwd.dispose();
    s.cache.dispose();
    be.rt.replayEnabled = true;
    return { out, uploads };
  };
  const plain = await run(false);
  const replayed = await run(true);
  assert.deepEqual(replayed.out, plain.out);
  // a step right after a step of its shape with nothing in between uploads no params (its tape's
  // are still in the ring from the last upload); a fill before a step adds its own upload
  assert.deepEqual(replayed.uploads, [1, 0, 0, 2, 0, 1, 1, 2, 0]);
  assert.ok(plain.uploads.every((u, i) => u === (i % 4 === 3 ? 2 : 1)));
  be.destroyBuffer(buf);
  model.dispose();
});

test("tapes with params bound per dispatch (hostBound) or by dynamic offsets replay the same work", async (t) => {
  const be = await webgpu();
  if (!be) return t.skip("no webgpu backend here");
  const bufs = [0, 1, 2].map(() => be.createBuffer(8, "f32"));
  const [x, y, z] = bufs.map((buffer) => ({ buffer, offset: 0, shape: [8], dtype: "f32" as const }));
  try {
    for (const hostBound of [true, false]) {
      const key = `fills ${hostBound}`;
      const ops = () => {
        be.fill(x!, 1); // the fills' values are their params
        be.fill(y!, 2);
      };
      be.replayable(key, ops, { hostBound }); // captured
      const replays: number = be.rt.stats.replays;
      for (let i = 0; i < 3; i++) {
        // other work between: its params overwrite the ring's first slots, x and y are cleared
        be.fill(z!, 7 + i);
        be.fill(x!, 0);
        be.fill(y!, 0);
        be.replayable(key, ops, { hostBound });
        assert.deepEqual(
          [(await be.read(x!))[3], (await be.read(y!))[5], (await be.read(z!))[0]],
          [1, 2, 7 + i],
        );
      }
      assert.equal(be.rt.stats.replays - replays, 3, `hostBound ${hostBound}: replayed`);
    }
  } finally {
    for (const b of bufs) be.destroyBuffer(b);
  }
});

test("capture: a host write inside the captured ops gives no tape, and the work still runs", async (t) => {
  const be = await webgpu();
  if (!be) return t.skip("no webgpu backend here");
  const buf = be.createBuffer(8, "f32");
  const x = { buffer: buf, offset: 0, shape: [8], dtype: "f32" as const };
  const r = be.rt.capture(() => {
    be.fill(x, 2);
    be.write(x, new Float32Array(8).fill(5));
    be.add(x, x, x);
  });
  assert.equal(r.tape, null);
  assert.match(r.reason ?? "", /submit inside the captured ops/);
  assert.deepEqual([...(await be.read(x))], new Array(8).fill(10));
  be.destroyBuffer(buf);
});

test("ReplayCache: replays, recaptures a stale tape, gives up on a failing key, evicts the oldest", () => {
  const log: string[] = [];
  const tape = (name: string) => ({ name }) as unknown as Tape;
  let captureGivesTape = true;
  const stale = new Set<string>();
  const rt: TapeRuntime = {
    capture: <T>(ops: () => T) => {
      log.push("capture");
      return { value: ops(), tape: captureGivesTape ? tape(`t${log.length}`) : null };
    },
    replay: (t) => {
      const name = (t as unknown as { name: string }).name;
      log.push(`replay ${name}`);
      return !stale.has(name);
    },
    releaseTape: (t) => log.push(`release ${(t as unknown as { name: string }).name}`),
  };
  const cache = new ReplayCache(rt, 2);
  let ran = 0;
  const ops = () => ++ran;
  assert.equal(cache.run("k1", ops), 1); // captured as t1
  assert.equal(cache.run("k1", ops), 1); // replayed: ops not run, the captured value returned
  stale.add("t1");
  assert.equal(cache.run("k1", ops), 2); // stale: released and recaptured (t4)
  assert.deepEqual(log, ["capture", "replay t1", "replay t1", "release t1", "capture"]);
  log.length = 0;
  captureGivesTape = false;
  cache.run("k2", ops);
  cache.run("k2", ops);
  cache.run("k2", ops); // two failed captures: now runs ops directly
  assert.deepEqual(log, ["capture", "capture"]);
  assert.equal(ran, 5);
  captureGivesTape = true;
  log.length = 0;
  cache.run("k3", ops); // t1 entry (k1), k2 (no tape), k3: over the limit of 2, k1 goes
  assert.deepEqual(log, ["capture", "release t5"]);
});

test("a growing sequence's decode step is recaptured only when its table width passes a power of two", async (t) => {
  const be = await webgpu();
  if (!be) return t.skip("no webgpu backend here");
  const long = { ...cfg, maxSeqLen: 256 };
  const model = Model.create(be, long, { seed: 3 });
  const cache = newTestCache(be, long, 64); // 4-token blocks
  const fwd = new CachedForward(model, cache);
  const prompt = PROMPTS.a!;
  cache.allocateFor("a", prompt.length);
  const first = await fwd.runGreedy([
    { id: "a", start: 0, tokens: prompt, slots: cache.append("a", prompt.length), sample: true },
  ]);
  let last = (first as { tokens: Int32Array }).tokens[0]!;
  const replays0 = be.rt.stats.replays;
  const steps = 120;
  const widths = new Set<number>(); // the power of two (>= 8) at or above each step's table length
  for (let i = 0; i < steps; i++) {
    const start = cache.length("a");
    cache.allocateFor("a", start + 1); // blocks as the engine takes them
    widths.add(Math.max(8, 2 ** Math.ceil(Math.log2(cache.tables.blockTable("a").length))));
    const r = await fwd.runGreedy([
      { id: "a", start, tokens: [last], slots: cache.append("a", 1), sample: true },
    ]);
    last = (r as { tokens: Int32Array }).tokens[0]!;
  }
  // one capture per width (8, 16, 32, 64 here); padding to multiples of 8 captured 8 times
  assert.ok(widths.size <= 4, `widths ${[...widths]}`);
  assert.equal(be.rt.stats.replays - replays0, steps - widths.size);
  fwd.dispose();
  cache.dispose();
  model.dispose();
});
