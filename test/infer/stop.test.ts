import assert from "node:assert/strict";
import { test } from "node:test";
import { RequestError } from "../../src/infer/errors.js";
import { createRng } from "../../src/infer/rng.js";
import { StopChecker, type StopOptions } from "../../src/infer/stop.js";

/** Feeds text pieces as tokens (id = index); returns everything emitted and the finish reason. */
function run(opts: StopOptions, pieces: string[], ids?: number[]) {
  const c = new StopChecker(opts);
  let out = "";
  for (const [i, p] of pieces.entries()) {
    const r = c.push(ids?.[i] ?? 1000 + i, p);
    out += r.text;
    if (r.finish) return { out, finish: r.finish, tokens: c.tokens() };
  }
  return { out: out + c.flush(), finish: null, tokens: c.tokens() };
}

test("a stop string split across tokens is caught; the text before it is emitted, not the stop", () => {
  assert.deepEqual(run({ maxTokens: 99, stop: ["\n\nUser:"] }, ["Hello", " there\n", "\nUs", "er: hi"]), {
    out: "Hello there",
    finish: "stop",
    tokens: 4,
  });
});

test("held-back text that turns out not to be a stop string is emitted later, in order", () => {
  const c = new StopChecker({ maxTokens: 99, stop: ["END"] });
  assert.deepEqual(c.push(1, "the E"), { text: "the ", finish: null });
  assert.deepEqual(c.push(2, "N"), { text: "", finish: null });
  assert.deepEqual(c.push(3, "D?"), { text: "", finish: "stop" });
  const d = new StopChecker({ maxTokens: 99, stop: ["END"] });
  d.push(1, "the E");
  assert.deepEqual(d.push(2, "NTRY"), { text: "ENTRY", finish: null });
});

test("the earliest of several stop strings wins", () => {
  assert.equal(run({ maxTokens: 9, stop: ["cd", "b"] }, ["a", "bcd"]).out, "a");
  assert.equal(run({ maxTokens: 9, stop: ["bcx", "cd"] }, ["ab", "c", "d"]).out, "ab");
});

test("max tokens ends with 'length' and flushes held-back text; stop token ids end with 'stop'", () => {
  assert.deepEqual(run({ maxTokens: 2, stop: ["xyz"] }, ["a", "x", "y"]), {
    out: "ax",
    finish: "length",
    tokens: 2,
  });
  assert.deepEqual(run({ maxTokens: 9, stopTokenIds: [0] }, ["a", "</s>", "b"], [5, 0, 6]), {
    out: "a",
    finish: "stop",
    tokens: 2,
  });
  const c = new StopChecker({ maxTokens: 1 });
  c.push(1, "a");
  assert.throws(() => c.push(2, "b"), /already finished/);
});

test("property: streamed output equals the text before the first stop string, for random splits", () => {
  const rng = createRng(3);
  const alphabet = "ab\n:";
  for (let trial = 0; trial < 500; trial++) {
    const text = Array.from({ length: 1 + (rng.nextU32() % 30) }, () => alphabet[rng.nextU32() % 4]).join("");
    const stops = Array.from({ length: 1 + (rng.nextU32() % 2) }, () =>
      Array.from({ length: 1 + (rng.nextU32() % 4) }, () => alphabet[rng.nextU32() % 4]).join(""),
    );
    const pieces: string[] = [];
    for (let i = 0; i < text.length; ) {
      const n = rng.nextU32() % 4; // empty pieces happen (a token that decodes to nothing yet)
      pieces.push(text.slice(i, i + n));
      i += n;
    }
    const first = Math.min(
      ...stops.map((s) => (text.indexOf(s) < 0 ? Number.POSITIVE_INFINITY : text.indexOf(s))),
    );
    const r = run({ maxTokens: 10_000, stop: stops }, pieces);
    const want = Number.isFinite(first) ? text.slice(0, first) : text;
    assert.equal(r.out, want, `trial ${trial}: ${JSON.stringify({ text, stops, pieces })}`);
    assert.equal(r.finish, Number.isFinite(first) ? "stop" : null);
  }
});

test("invalid options throw RequestError", () => {
  assert.throws(
    () => new StopChecker({ maxTokens: 0 }),
    (e) => e instanceof RequestError && /maxTokens 0/.test(e.message),
  );
  assert.throws(() => new StopChecker({ maxTokens: 1, stop: [""] }), /stop string "" is invalid/);
});
