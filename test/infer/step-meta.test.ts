// The step metadata packer (infer/step-meta.ts) keeps the packed block tables between steps and
// uploads only the rows that changed: whatever happens between steps (tables growing, blocks freed
// and reused, copy-on-write, sequences joining, leaving and reordering, ids reused, the device
// buffer replaced, an upload that never happened) its array equals a fresh full pack and the
// device buffer holds exactly that array after each upload.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import type { DeviceBuffer, Tensor } from "../../src/backend/tensor.js";
import { BlockPool } from "../../src/infer/block-pool.js";
import { BlockTables } from "../../src/infer/block-tables.js";
import { createRng } from "../../src/infer/rng.js";
import { type MetaItem, MetaPacker, metaSections } from "../../src/infer/step-meta.js";

/** A backend that only takes writes, into host arrays, and logs them. */
function fakeDevice() {
  const mem = new Map<DeviceBuffer, Int32Array>();
  const log: { from: number; to: number }[] = [];
  let nextId = 1;
  const be = {
    write(t: Tensor, data: Int32Array) {
      const m = mem.get(t.buffer)!;
      assert.equal(t.dtype, "i32");
      m.set(data, t.offset);
      log.push({ from: t.offset, to: t.offset + data.length });
    },
  } as unknown as Backend;
  const buffer = (size: number): Tensor => {
    // garbage where nothing was written: an incremental upload must not rely on zeros
    const b: DeviceBuffer = { id: nextId++, size, dtype: "i32", label: "meta" };
    mem.set(b, new Int32Array(size).fill(-7));
    return { buffer: b, offset: 0, shape: [size], dtype: "i32" };
  };
  return { be, mem, log, buffer };
}

/** The packed metadata built from scratch, entry by entry (unused table entries 0). */
function freshPack(items: readonly MetaItem[], tables: BlockTables): Int32Array {
  const b = items.length;
  const longest = Math.max(1, ...items.map((it) => tables.blockTable(it.id).length));
  const maxBlocks = Math.max(8, 2 ** Math.ceil(Math.log2(longest)));
  const n = items.reduce((s, it) => s + it.tokens.length, 0);
  const m = items.filter((it) => it.sample).length;
  const at = metaSections(n, b, m, maxBlocks);
  const out = new Int32Array(at.total);
  let r = 0;
  let k = 0;
  items.forEach((it, i) => {
    tables.blockTable(it.id).forEach((blk, j) => {
      out[at.tables + i * maxBlocks + j] = blk;
    });
    out[at.seqLens + i] = it.start + it.tokens.length;
    out[at.queryStarts + i] = r;
    it.tokens.forEach((tok, j) => {
      out[at.ids + r + j] = tok;
      out[at.positions + r + j] = it.start + j;
      out[at.slots + r + j] = it.slots[j]!;
    });
    r += it.tokens.length;
    if (it.sample) out[at.sampleRows + k++] = r - 1;
  });
  out[at.queryStarts + b] = r;
  return out;
}

test("decode steps upload the head and only the table rows that gained a block", () => {
  const tables = new BlockTables(new BlockPool(64), 4);
  const ids = ["a", "b", "c", "d"];
  const lengths = [2, 3, 4, 4];
  ids.forEach((id, i) => {
    tables.allocateFor(id, lengths[i]!);
    tables.append(id, lengths[i]!);
  });
  const packer = new MetaPacker(tables);
  const dev = fakeDevice();
  const metaT = dev.buffer(4096);
  const step = () => {
    const items = ids.map((id) => {
      const start = tables.length(id);
      tables.allocateFor(id, 1);
      return { id, start, tokens: [start % 7], slots: tables.append(id, 1), sample: true };
    });
    const sm = packer.pack(items);
    dev.log.length = 0;
    packer.upload(dev.be, metaT, sm);
    assert.deepEqual(sm.packed, freshPack(items, tables));
    assert.deepEqual(dev.mem.get(metaT.buffer)!.subarray(0, sm.packed.length), sm.packed);
    return { at: metaSections(sm.n, sm.b, sm.m, sm.maxBlocks), writes: [...dev.log] };
  };
  const first = step();
  assert.deepEqual(first.writes, [{ from: 0, to: first.at.total }], "the first step uploads it all");
  // block size 4: the token at position 4 starts a sequence's second block
  const second = step(); // writes positions 3, 4, 5, 5: "b" gains a block
  const { tables: t0 } = second.at;
  assert.deepEqual(second.writes, [
    { from: 0, to: t0 },
    { from: t0 + 8, to: t0 + 16 },
  ]);
  const third = step(); // positions 4, 5, 6, 6: "a" gains one
  assert.deepEqual(third.writes, [
    { from: 0, to: t0 },
    { from: t0, to: t0 + 8 },
  ]);
  const fourth = step(); // positions 5, 6, 7, 7: no table changes
  assert.deepEqual(fourth.writes, [{ from: 0, to: t0 }], "no table changed: one write");
  const fifth = step(); // positions 6, 7, 8, 8: "c" and "d", adjacent rows, in one write
  assert.deepEqual(fifth.writes, [
    { from: 0, to: t0 },
    { from: t0 + 16, to: t0 + 32 },
  ]);
});

test("property: the kept tables equal a fresh pack through joins, leaves, frees, reuse and copy-on-write", () => {
  for (const seed of [1, 2, 3, 4]) {
    const rng = createRng(seed);
    const rand = (k: number) => rng.nextU32() % k;
    const tables = new BlockTables(new BlockPool(200, { debug: true }), 4);
    const packer = new MetaPacker(tables);
    const dev = fakeDevice();
    let metaT = dev.buffer(8192);
    const live: string[] = [];
    const joinsAt = new Map<string, number>();
    let order: string[] = [];
    let incrementalSteps = 0;
    for (let step = 0; step < 300; step++) {
      // between steps: sequences join (ids come back after they left), leave, fork, reorder
      const r = rand(20);
      if ((r < 3 || live.length === 0) && live.length < 12) {
        const id = `s${rand(16)}`;
        if (!live.includes(id)) {
          const n = 1 + rand(9);
          if (tables.allocateFor(id, n).kind === "ok") {
            tables.append(id, n);
            live.push(id);
          }
        }
      } else if (r < 5 && live.length > 1) {
        const id = live.splice(rand(live.length), 1)[0]!;
        tables.free(id);
      } else if (r < 6 && live.length < 12) {
        const parent = live[rand(live.length)]!;
        const child = `f${step}`;
        // the parent's next append copies their shared partial block (in a step of the same
        // layout: the child joins the steps later), and so does the child's first
        tables.fork(parent, child);
        live.push(child);
        joinsAt.set(child, step + 3);
      } else if (r < 7) {
        order = [];
      }
      for (const id of [...live]) {
        if (tables.length(id) > 90) {
          live.splice(live.indexOf(id), 1);
          tables.free(id);
        }
      }
      // mostly the same rows in the same order as before (the incremental case)
      order = order.filter((id) => live.includes(id));
      for (const id of live) if (!order.includes(id) && (joinsAt.get(id) ?? 0) <= step) order.push(id);
      if (rand(10) === 0) order.reverse();
      const items: MetaItem[] = [];
      const mixed = rand(5) === 0; // prefill chunks and rows that sample nothing: another layout
      for (const id of order) {
        const n = mixed && rand(3) === 0 ? 1 + rand(5) : 1;
        if (tables.allocateFor(id, n).kind !== "ok") continue;
        const start = tables.length(id);
        const tokens = Array.from({ length: n }, () => rand(50));
        items.push({ id, start, tokens, slots: tables.append(id, n), sample: !mixed || rand(4) !== 0 });
      }
      if (items.length === 0) continue;
      const sm = packer.pack(items);
      assert.deepEqual(sm.packed, freshPack(items, tables), `seed ${seed} step ${step}`);
      if (rand(25) === 0) continue; // a step that failed before its upload
      if (rand(30) === 0 || metaT.buffer.size < sm.packed.length) {
        metaT = dev.buffer(Math.max(8192, 2 * sm.packed.length)); // the workspace grew
      }
      const before = packer.counts.fullPacks;
      packer.upload(dev.be, { ...metaT, shape: [sm.packed.length] }, sm);
      if (packer.counts.fullPacks === before) incrementalSteps++;
      const onDevice = dev.mem.get(metaT.buffer)!.subarray(0, sm.packed.length);
      assert.deepEqual(onDevice, sm.packed, `seed ${seed} step ${step}: device`);
    }
    assert.ok(incrementalSteps > 50, `seed ${seed}: ${incrementalSteps} incremental uploads`);
    for (const id of live) tables.free(id);
    assert.equal(tables.pool.numFree(), 200);
  }
});
