import assert from "node:assert/strict";
import { test } from "node:test";
import { BlockPool } from "../../src/infer/block-pool.js";
import { BlockTables } from "../../src/infer/block-tables.js";
import { RequestError } from "../../src/infer/errors.js";
import { createRng } from "../../src/infer/rng.js";
import { Scheduler, type StepPlan } from "../../src/infer/scheduler.js";

const V = 97;
/** The "model": the next token is a hash of the whole sequence so far. */
function nextToken(seq: readonly number[]): number {
  let h = 17;
  for (const t of seq) h = (Math.imul(h, 31) + t + 1) >>> 0;
  return h % V;
}
function reference(prompt: number[], maxTokens: number): number[] {
  const s = [...prompt];
  for (let i = 0; i < maxTokens; i++) s.push(nextToken(s));
  return s.slice(prompt.length);
}

/** A fake engine: a token-valued "KV pool" written by slot, read back through the block tables. */
class FakeEngine {
  readonly pool: Int32Array;
  readonly out = new Map<string, number[]>();
  constructor(
    readonly sched: Scheduler,
    readonly tables: BlockTables,
  ) {
    this.pool = new Int32Array(tables.pool.numBlocks * tables.blockSize).fill(-1);
  }
  step(): StepPlan {
    const plan = this.sched.schedule();
    for (const it of plan.items) {
      it.slots.forEach((slot, i) => {
        this.pool[slot] = it.tokens[i]!;
      });
      if (!it.sample) continue;
      // Read the whole sequence back through the cache, as attention would.
      const seen = [...this.tables.slotsOf(it.id)].map((s) => this.pool[s]!);
      const tok = nextToken(seen);
      this.out.set(it.id, [...(this.out.get(it.id) ?? []), tok]);
      this.sched.commit(it.id, tok);
    }
    return plan;
  }
}

const setup = (o: { blocks: number; bs: number; ctx?: number; budget?: number; running?: number }) => {
  const tables = new BlockTables(new BlockPool(o.blocks, { debug: true }), o.bs);
  const sched = new Scheduler({
    tables,
    maxContext: o.ctx ?? 64,
    maxBatchTokens: o.budget ?? 16,
    maxRunning: o.running ?? 8,
  });
  return { tables, sched, eng: new FakeEngine(sched, tables) };
};

test("prefill then decode; outputs equal the reference; blocks return when done", () => {
  const { tables, sched, eng } = setup({ blocks: 16, bs: 4 });
  sched.add({ id: "a", promptTokens: [1, 2, 3], maxTokens: 4 });
  sched.add({ id: "b", promptTokens: [5, 6, 7, 8, 9], maxTokens: 2 });
  const p1 = eng.step();
  assert.deepEqual(
    p1.items.map((i) => [i.id, i.start, i.tokens.length, i.sample]),
    [
      ["a", 0, 3, true],
      ["b", 0, 5, true],
    ],
  );
  const p2 = eng.step();
  assert.deepEqual(
    p2.items.map((i) => [i.id, i.start, i.tokens.length]),
    [
      ["a", 3, 1],
      ["b", 5, 1],
    ],
  );
  while (sched.hasWork()) eng.step();
  assert.deepEqual(eng.out.get("a"), reference([1, 2, 3], 4));
  assert.deepEqual(eng.out.get("b"), reference([5, 6, 7, 8, 9], 2));
  assert.equal(tables.pool.numFree(), 16);
});

test("long prompts are prefilled in chunks under the token budget, decodes go first", () => {
  const { sched, eng } = setup({ blocks: 32, bs: 4, budget: 4 });
  sched.add({ id: "d", promptTokens: [1], maxTokens: 5 });
  eng.step(); // d prefilled, sampled once
  sched.add({ id: "p", promptTokens: Array.from({ length: 10 }, (_, i) => i), maxTokens: 1 });
  const chunks: [string, number, boolean][][] = [];
  for (let s = 0; s < 4; s++) chunks.push(eng.step().items.map((i) => [i.id, i.tokens.length, i.sample]));
  assert.deepEqual(chunks, [
    [
      ["d", 1, true],
      ["p", 3, false],
    ],
    [
      ["d", 1, true],
      ["p", 3, false],
    ],
    [
      ["d", 1, true],
      ["p", 3, false],
    ],
    [
      ["d", 1, true],
      ["p", 1, true],
    ],
  ]);
  assert.deepEqual(
    eng.out.get("p"),
    reference(
      Array.from({ length: 10 }, (_, i) => i),
      1,
    ),
  );
});

test("requests that can never fit are refused at once with actionable errors", () => {
  const { sched } = setup({ blocks: 4, bs: 4, ctx: 32 });
  const refuse = (req: object, code: string, re: RegExp) =>
    assert.throws(
      () => sched.add({ id: "x", promptTokens: [1], maxTokens: 1, ...req }),
      (e) => e instanceof RequestError && e.code === code && re.test(e.message),
    );
  refuse({ promptTokens: [] }, "empty-prompt", /prompt is empty/);
  refuse(
    { promptTokens: new Array(32).fill(1) },
    "prompt-too-long",
    /32 tokens but the context is 32: shorten it to at most 31/,
  );
  refuse(
    { promptTokens: new Array(30).fill(1), maxTokens: 3 },
    "prompt-too-long",
    /lower maxTokens to at most 2/,
  );
  refuse(
    { promptTokens: new Array(10).fill(1), maxTokens: 8 },
    "cannot-fit",
    /needs 5 KV blocks but the cache has 4: lower maxTokens to at most 7/,
  );
  sched.add({ id: "x", promptTokens: new Array(10).fill(1), maxTokens: 7 }); // exactly 16 slots: fits
  refuse({}, "duplicate-id", /"x" is already queued/);
  refuse({ id: "y", maxTokens: 0 }, "invalid-request", /maxTokens 0/);
});

test("a request that does not fit now waits, then runs when blocks free up", () => {
  const { tables, sched, eng } = setup({ blocks: 4, bs: 4 });
  sched.add({ id: "a", promptTokens: new Array(15).fill(2), maxTokens: 2 }); // all 4 blocks
  sched.add({ id: "b", promptTokens: new Array(6).fill(3), maxTokens: 2 });
  const p = eng.step();
  assert.deepEqual(
    p.items.map((i) => i.id),
    ["a"],
  );
  assert.equal(sched.state("b"), "waiting");
  while (sched.state("a") !== undefined) eng.step();
  assert.equal(eng.step().items[0]?.id, "b");
  while (sched.hasWork()) eng.step();
  assert.deepEqual(eng.out.get("b"), reference(new Array(6).fill(3), 2));
  assert.equal(tables.pool.numFree(), 4);
});

test("preemption by recompute: the victim's output is unchanged and its blocks are reused", () => {
  const { tables, sched, eng } = setup({ blocks: 4, bs: 2, budget: 8 });
  sched.add({ id: "a", promptTokens: [1, 2, 3], maxTokens: 5 }); // needs 4 blocks at its peak
  sched.add({ id: "b", promptTokens: [4, 5, 6], maxTokens: 4 });
  const preempted: string[] = [];
  while (sched.hasWork()) preempted.push(...eng.step().preempted);
  assert.ok(preempted.includes("b"), `expected b to be preempted, got [${preempted}]`);
  assert.deepEqual(eng.out.get("a"), reference([1, 2, 3], 5));
  assert.deepEqual(eng.out.get("b"), reference([4, 5, 6], 4));
  assert.equal(tables.pool.numFree(), 4);
});

test("cancellation frees blocks at once, mid-prefill or mid-decode; late commits are ignored", () => {
  const { tables, sched, eng } = setup({ blocks: 8, bs: 4, budget: 4 });
  sched.add({ id: "a", promptTokens: new Array(10).fill(1), maxTokens: 3 });
  sched.add({ id: "b", promptTokens: [1], maxTokens: 3 });
  eng.step();
  assert.equal(tables.pool.numFree(), 7);
  assert.equal(sched.cancel("a"), true);
  assert.equal(tables.pool.numFree(), 8);
  assert.equal(sched.cancel("a"), false);
  const plan = sched.schedule();
  assert.deepEqual(
    plan.items.map((i) => i.id),
    ["b"],
  );
  sched.cancel("b");
  assert.equal(sched.commit("b", 5), "cancelled");
  assert.equal(tables.pool.numFree(), 8);
  assert.equal(sched.hasWork(), false);
});

test("simulation: random arrivals, cancellations and a tight pool keep every invariant", () => {
  let preemptions = 0;
  let cancels = 0;
  let finished = 0;
  for (let seed = 0; seed < 25; seed++) {
    const rng = createRng(500 + seed);
    const o = {
      blocks: 6 + (rng.nextU32() % 10),
      bs: 1 + (rng.nextU32() % 4),
      budget: 1 + (rng.nextU32() % 12),
    };
    const running = 1 + (rng.nextU32() % 4);
    const { tables, sched, eng } = setup({ ...o, running, ctx: 40 });
    const want = new Map<string, number[]>();
    const cancelled = new Set<string>();
    let next = 0;
    for (let step = 0; step < 400 && (step < 60 || sched.hasWork()); step++) {
      if (step < 60 && rng.next() < 0.3) {
        const id = `r${next++}`;
        const prompt = Array.from({ length: 1 + (rng.nextU32() % 12) }, () => rng.nextU32() % V);
        const maxTokens = 1 + (rng.nextU32() % 8);
        try {
          sched.add({ id, promptTokens: prompt, maxTokens });
          want.set(id, reference(prompt, maxTokens));
        } catch (e) {
          assert.ok(e instanceof RequestError && e.code === "cannot-fit", String(e));
        }
      }
      if (rng.next() < 0.03 && want.size > 0) {
        const id = [...want.keys()][rng.nextU32() % want.size]!;
        if (sched.cancel(id)) cancelled.add(id);
      }
      const plan = eng.step();
      preemptions += plan.preempted.length;
      assert.ok(plan.nTokens <= o.budget);
      assert.ok(sched.counts().running <= running);
      assert.equal(new Set(plan.items.map((i) => i.id)).size, plan.items.length);
      tables.pool.checkInvariants();
    }
    assert.equal(sched.hasWork(), false, `seed ${seed}: everything finished`);
    cancels += cancelled.size;
    for (const [id, w] of want) {
      if (cancelled.has(id)) continue;
      assert.deepEqual(eng.out.get(id), w, `seed ${seed} ${id}`);
      finished++;
    }
    assert.equal(tables.pool.numFree(), tables.pool.numBlocks, `seed ${seed}: all blocks returned`);
  }
  // The simulation must really exercise the hard paths.
  assert.ok(preemptions > 10 && cancels > 5 && finished > 200, `${preemptions} ${cancels} ${finished}`);
});

test("run-ahead: several decode steps in flight reserve consecutive slots, commit in order, stop at maxTokens", () => {
  const { tables, sched } = setup({ blocks: 8, bs: 2, budget: 8, running: 2 });
  sched.add({ id: "a", promptTokens: [1, 2, 3], maxTokens: 5 });
  const first = sched.schedule().items;
  assert.deepEqual(
    first.map((i) => [i.id, i.start, i.tokens.length, i.sample]),
    [["a", 0, 3, true]],
  );
  // the prefill samples token 1; run-ahead steps feed tokens 1..4 (token 5 is the last: never fed)
  const ahead: number[] = [];
  for (let s = sched.scheduleAhead(["a"]); s !== null; s = sched.scheduleAhead(["a"])) {
    assert.equal(s.length, 1);
    ahead.push(s[0]!.start);
    assert.equal(s[0]!.slots.length, 1);
  }
  assert.deepEqual(ahead, [3, 4, 5, 6]);
  assert.deepEqual([...tables.slotsOf("a")].length, 7);
  // steps commit in submission order; the 5th token ends the request and frees its blocks
  assert.equal(sched.commit("a", 10), null);
  assert.equal(sched.commit("a", 11), null);
  assert.equal(sched.scheduleAhead(["a"]), null, "still no room below maxTokens");
  assert.equal(sched.commit("a", 12), null);
  assert.equal(sched.commit("a", 13), null);
  assert.equal(sched.commit("a", 14), "length");
  assert.equal(tables.pool.numFree(), 8);
  assert.equal(sched.hasWork(), false);
});

test("run-ahead: partial commits keep the chain going; a waiting request or a foreign id stops it", () => {
  const { sched } = setup({ blocks: 16, bs: 4, budget: 8, running: 2 });
  sched.add({ id: "a", promptTokens: [1, 2], maxTokens: 20 });
  sched.schedule();
  assert.notEqual(sched.scheduleAhead(["a"]), null);
  assert.notEqual(sched.scheduleAhead(["a"]), null);
  assert.equal(sched.commit("a", 5), null); // the prefill's token
  const third = sched.scheduleAhead(["a"]);
  assert.equal(third?.[0]?.start, 4, "the third step in flight feeds position 4");
  assert.equal(sched.scheduleAhead(["b"]), null);
  sched.add({ id: "b", promptTokens: [3], maxTokens: 2 });
  assert.equal(sched.scheduleAhead(["a"]), null, "b could be admitted: stop running ahead");
  for (const t of [6, 7, 8]) assert.equal(sched.commit("a", t), null);
  assert.deepEqual(sched.generated("a"), [5, 6, 7, 8]);
  // everything committed: the next plan is a plain decode step of a beside b's prefill
  const plan = sched.schedule();
  assert.deepEqual(
    plan.items.map((i) => [i.id, i.start, i.tokens]),
    [
      ["a", 5, [8]],
      ["b", 0, [3]],
    ],
  );
});
