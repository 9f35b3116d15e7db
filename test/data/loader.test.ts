// The batch loader against the raw shard bytes: rows are windows [w*T, w*T+T+1) of the split (also
// across shard files), targets are inputs shifted by one, an epoch visits every window once, the
// order is fixed by the seed, and restore(state()) continues with exactly the same batches.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Batch, BatchLoader, permutation } from "../../src/data/loader.js";
import { readManifest } from "../../src/data/manifest.js";
import { buildShards } from "../../src/data/shards.js";
import { ConfigError } from "../../src/errors.js";

const root = mkdtempSync(join(tmpdir(), "cl-loader-"));
const dir = join(root, "humor");
const T = 32;
const B = 5;
after(() => rmSync(root, { recursive: true, force: true }));
before(async () => {
  // ~10k tokens per shard file so windows cross file boundaries.
  await buildShards({
    sources: [{ kind: "brown", categories: ["humor"] }],
    out: dir,
    tokenizer: "gpt2",
    valFraction: 0.3,
    shardTokens: 10_000,
    workers: 1,
  });
});

function rawTokens(split: "train" | "val"): number[] {
  const out: number[] = [];
  for (const s of readManifest(dir).splits[split].shards) {
    const buf = readFileSync(join(dir, s.file));
    for (let i = 0; i < buf.length; i += 2) out.push(buf.readUInt16LE(i));
  }
  return out;
}

function rows(b: Batch): Array<{ x: number[]; y: number[] }> {
  return Array.from({ length: b.rows }, (_, r) => ({
    x: Array.from(b.inputs.subarray(r * T, (r + 1) * T)),
    y: Array.from(b.targets.subarray(r * T, (r + 1) * T)),
  }));
}

test("an epoch serves every window once, rows match the raw shards", () => {
  const m = readManifest(dir);
  assert.ok(m.splits.train.shards.length >= 3, "want several shard files");
  const raw = rawTokens("train");
  const loader = new BatchLoader({ dir, batchSize: B, seqLen: T, seed: 3 });
  try {
    assert.equal(loader.windows, Math.floor((raw.length - 1) / T));
    const windowOf = new Map<string, number>();
    for (let w = 0; w < loader.windows; w++) windowOf.set(raw.slice(w * T, w * T + T + 1).join(","), w);
    const seen: number[] = [];
    while (seen.length < loader.windows) {
      for (const { x, y } of rows(loader.next())) {
        const w = windowOf.get([...x, y[T - 1]].join(","));
        assert.ok(w !== undefined, "row is not a window of the split");
        assert.deepEqual(y.slice(0, T - 1), x.slice(1));
        seen.push(w);
      }
    }
    const epoch = seen.slice(0, loader.windows).sort((a, b) => a - b);
    assert.deepEqual(epoch, [...Array(loader.windows).keys()]);
  } finally {
    loader.close();
  }
});

test("same seed, same batches; another seed, another order", () => {
  const take = (seed: number) => {
    const l = new BatchLoader({ dir, batchSize: B, seqLen: T, seed });
    const out = [l.next(), l.next(), l.next()].map((b) => Array.from(b.inputs));
    l.close();
    return out;
  };
  assert.deepEqual(take(1), take(1));
  assert.notDeepEqual(take(1), take(2));
  const p = permutation(1000, 7, 4);
  assert.deepEqual(
    Array.from(p).sort((a, b) => a - b),
    [...Array(1000).keys()],
  );
});

test("restore(state()) resumes exactly, across an epoch boundary", () => {
  const a = new BatchLoader({ dir, batchSize: B, seqLen: T, seed: 11 });
  const b = new BatchLoader({ dir, batchSize: B, seqLen: T, seed: 0 });
  try {
    const perEpoch = Math.ceil(a.windows / B);
    for (let i = 0; i < perEpoch - 2; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.state()));
    const expected = Array.from({ length: 5 }, () => Array.from(a.next().targets));
    b.restore(saved);
    const got = Array.from({ length: 5 }, () => Array.from(b.next().targets));
    assert.deepEqual(got, expected);
    assert.equal(b.state().epoch, 1);
    assert.throws(() => b.restore({ ...saved, seqLen: T + 1 }), ConfigError);
  } finally {
    a.close();
    b.close();
  }
});

test("validation covers the val split in order; the last batch may be short", () => {
  const raw = rawTokens("val");
  const loader = new BatchLoader({ dir, batchSize: B, seqLen: T });
  try {
    const windows = Math.floor((raw.length - 1) / T);
    assert.equal(loader.validationWindows, windows);
    const rebuilt: number[] = [];
    let count = 0;
    for (const batch of loader.validation()) {
      assert.ok(batch.rows <= B && batch.rows > 0);
      for (const { x } of rows(batch)) rebuilt.push(...x);
      count += batch.rows;
    }
    assert.equal(count, windows);
    assert.deepEqual(rebuilt, raw.slice(0, windows * T));
    assert.equal([...loader.validation({ maxBatches: 2 })].length, 2);
  } finally {
    loader.close();
  }
});
