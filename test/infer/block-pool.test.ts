import assert from "node:assert/strict";
import { test } from "node:test";
import { BlockPool } from "../../src/infer/block-pool.js";
import { KvCacheError } from "../../src/infer/errors.js";
import { createRng } from "../../src/infer/rng.js";

test("allocate is all-or-nothing and FIFO: freed blocks are reused last", () => {
  const pool = new BlockPool(4, { debug: true });
  assert.deepEqual(pool.allocate(3), [0, 1, 2]);
  assert.equal(pool.allocate(2), null, "only 1 free");
  assert.equal(pool.numFree(), 1);
  pool.release([1]);
  assert.deepEqual(pool.allocate(1), [3], "block 3 was freed before block 1");
  assert.deepEqual(pool.allocate(1), [1]);
  assert.equal(pool.numFree(), 0);
  assert.deepEqual(pool.allocate(0), []);
});

test("share keeps a block alive until its last reference is released", () => {
  const pool = new BlockPool(2, { debug: true });
  const [a] = pool.allocate(1)!;
  pool.share([a!, a!]);
  assert.equal(pool.refCount(a!), 3);
  pool.release([a!, a!]);
  assert.equal(pool.numFree(), 1);
  pool.release([a!]);
  assert.equal(pool.numFree(), 2);
  assert.equal(pool.refCount(a!), 0);
});

test("misuse throws KvCacheError and leaves the pool unchanged", () => {
  const pool = new BlockPool(3, { debug: true });
  const blocks = pool.allocate(2)!;
  assert.throws(() => pool.release([blocks[0]!, blocks[0]!]), /double free/);
  assert.equal(pool.refCount(blocks[0]!), 1, "failed release changed nothing");
  assert.throws(() => pool.release([2]), KvCacheError);
  assert.throws(() => pool.share([2]), /it is free/);
  assert.throws(() => pool.refCount(3), /out of range 0\.\.2/);
  assert.throws(() => pool.allocate(-1), KvCacheError);
  assert.throws(() => new BlockPool(1.5), KvCacheError);
  pool.checkInvariants();
});

test("property: random allocate/share/release sequences keep the invariants and return every block", () => {
  for (let seed = 0; seed < 40; seed++) {
    const rng = createRng(seed);
    const n = 1 + (rng.nextU32() % 24);
    const pool = new BlockPool(n, { debug: true });
    // A shadow model: every live reference held by some "owner", tracked independently.
    const held: number[][] = [];
    const shadowRefs = new Map<number, number>();
    const bump = (b: number, d: number) => shadowRefs.set(b, (shadowRefs.get(b) ?? 0) + d);
    for (let step = 0; step < 300; step++) {
      const op = rng.nextU32() % 3;
      if (op === 0) {
        const k = rng.nextU32() % 5;
        const got = pool.allocate(k);
        const free = n - [...shadowRefs.values()].filter((r) => r > 0).length;
        assert.equal(got === null, k > free, `seed ${seed} step ${step}: allocate(${k}) with ${free} free`);
        if (got) {
          for (const b of got) {
            assert.equal(shadowRefs.get(b) ?? 0, 0, `block ${b} handed out while referenced`);
            bump(b, 1);
          }
          held.push(got);
        }
      } else if (op === 1 && held.length > 0) {
        const src = held[rng.nextU32() % held.length]!;
        held.push(pool.share(src));
        for (const b of src) bump(b, 1);
      } else if (held.length > 0) {
        const i = rng.nextU32() % held.length;
        const gone = held.splice(i, 1)[0]!;
        pool.release(gone);
        for (const b of gone) bump(b, -1);
      }
      for (const [b, r] of shadowRefs) {
        assert.ok(r >= 0);
        assert.equal(pool.refCount(b), r);
      }
      assert.equal(pool.numFree(), n - [...shadowRefs.values()].filter((r) => r > 0).length);
    }
    for (const h of held) pool.release(h);
    assert.equal(pool.numFree(), n, `seed ${seed}: all blocks return`);
    pool.checkInvariants();
  }
});
