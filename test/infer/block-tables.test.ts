import assert from "node:assert/strict";
import { test } from "node:test";
import { BlockPool } from "../../src/infer/block-pool.js";
import { BlockTables } from "../../src/infer/block-tables.js";
import { KvCacheError } from "../../src/infer/errors.js";
import { createRng } from "../../src/infer/rng.js";

const make = (blocks: number, bs: number) => new BlockTables(new BlockPool(blocks, { debug: true }), bs);

test("slots are block * blockSize + offset, growing block by block", () => {
  const t = make(8, 4);
  assert.deepEqual(t.allocateFor("a", 6), { kind: "ok", newBlocks: 2, copies: [] });
  assert.deepEqual([...t.append("a", 6)], [0, 1, 2, 3, 4, 5]);
  t.allocateFor("b", 3);
  assert.deepEqual([...t.append("b", 3)], [8, 9, 10]);
  assert.equal(t.blocksNeeded("a", 2), 0, "room left in block 1");
  assert.equal(t.blocksNeeded("a", 3), 1);
  t.allocateFor("a", 3);
  assert.deepEqual([...t.append("a", 3)], [6, 7, 12]);
  assert.deepEqual([...t.slotsOf("a")], [0, 1, 2, 3, 4, 5, 6, 7, 12]);
  assert.equal(t.length("a"), 9);
});

test("back-pressure is a result: wait when blocks are busy, never when the pool is too small", () => {
  const t = make(3, 4);
  t.allocateFor("a", 8);
  assert.deepEqual(t.allocateFor("b", 5), { kind: "wait", needed: 2, free: 1 });
  assert.equal(t.has("b"), false, "a failed allocation changes nothing");
  assert.deepEqual(t.allocateFor("b", 13), { kind: "never", needed: 4, total: 3 });
  t.free("a");
  assert.equal(t.allocateFor("b", 5).kind, "ok");
  assert.equal(t.pool.numFree(), 1);
});

test("append without a reservation and unknown sequences throw KvCacheError", () => {
  const t = make(2, 4);
  t.allocateFor("a", 3);
  assert.throws(() => t.append("a", 5), /room for 4 more tokens, not 5/);
  assert.throws(() => t.append("zz", 1), /unknown sequence "zz"/);
  assert.throws(() => t.fork("a", "a"), KvCacheError);
  t.free("nobody");
});

test("fork shares written blocks; the first write into a shared partial block copies it", () => {
  const t = make(6, 4);
  t.allocateFor("p", 6);
  t.append("p", 6); // blocks [0, 1], block 1 holds 2 tokens
  t.fork("p", "c");
  assert.equal(t.pool.refCount(0), 2);
  assert.equal(t.pool.refCount(1), 2);
  assert.equal(t.pool.numFree(), 4, "fork moved no data and took no blocks");
  assert.throws(() => t.append("c", 1), /shared block 1/);
  assert.equal(t.blocksNeeded("c", 1), 1, "copy-on-write needs one block");
  const r = t.allocateFor("c", 1);
  assert.deepEqual(r, { kind: "ok", newBlocks: 1, copies: [{ src: 1, dst: 2, tokens: 2 }] });
  assert.deepEqual([...t.append("c", 1)], [10]);
  assert.deepEqual(t.blockTable("c"), [0, 2]);
  assert.equal(t.pool.refCount(1), 1, "the parent owns block 1 alone now");
  assert.deepEqual(t.allocateFor("p", 1), { kind: "ok", newBlocks: 0, copies: [] });
  assert.deepEqual([...t.append("p", 1)], [6]);
  t.free("p");
  t.free("c");
  assert.equal(t.pool.numFree(), 6);
});

test("property: random sequences of allocate/append/fork/free keep slots disjoint and return all blocks", () => {
  for (let seed = 0; seed < 30; seed++) {
    const rng = createRng(1000 + seed);
    const bs = 1 + (rng.nextU32() % 5);
    const t = make(4 + (rng.nextU32() % 20), bs);
    let nextId = 0;
    for (let step = 0; step < 200; step++) {
      const ids = t.sequenceIds();
      const op = rng.nextU32() % 4;
      if (op <= 1 || ids.length === 0) {
        const id = op === 0 || ids.length === 0 ? `s${nextId++}` : ids[rng.nextU32() % ids.length]!;
        const n = rng.nextU32() % (2 * bs + 2);
        const free = t.pool.numFree();
        const need = t.blocksNeeded(id, n);
        const r = t.allocateFor(id, n);
        if (r.kind === "ok") {
          assert.ok(need <= free);
          // Every block written this step belongs to this sequence alone (copy-on-write worked).
          for (const slot of t.append(id, n)) assert.equal(t.pool.refCount(Math.floor(slot / bs)), 1);
        } else {
          assert.ok(need > free || r.kind === "never");
        }
      } else if (op === 2) {
        const p = ids[rng.nextU32() % ids.length]!;
        t.fork(p, `s${nextId++}`);
      } else {
        t.free(ids[rng.nextU32() % ids.length]!);
      }
      // A block shared by several sequences sits at the same table index in each (a fork prefix).
      const owners = new Map<number, number>();
      const index = new Map<number, number>();
      for (const id of t.sequenceIds()) {
        assert.equal(t.slotsOf(id).length, t.length(id));
        t.blockTable(id).forEach((b, i) => {
          owners.set(b, (owners.get(b) ?? 0) + 1);
          assert.equal(index.get(b) ?? i, i, `seed ${seed}: block ${b} shared at different positions`);
          index.set(b, i);
        });
      }
      for (const [b, k] of owners) assert.equal(t.pool.refCount(b), k, `seed ${seed}: refcount of ${b}`);
      assert.equal(t.pool.numFree() + owners.size, t.pool.numBlocks);
      t.pool.checkInvariants();
    }
    for (const id of t.sequenceIds()) t.free(id);
    assert.equal(t.pool.numFree(), t.pool.numBlocks, `seed ${seed}: every block returned`);
  }
});
