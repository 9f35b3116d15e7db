// The CPU backend's memory: the free-list allocator (alignment, reserved region, coalescing,
// growth, random alloc/free invariants), the shared heap keeping data across memory growth, and
// buffer lifecycle / validation errors of the Backend API.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ALIGN, Allocator } from "../../src/backend/cpu/allocator.js";
import { SharedHeap } from "../../src/backend/cpu/heap.js";
import { createCpuBackend } from "../../src/backend/cpu/index.js";
import { HeapStore } from "../../src/backend/cpu/store-heap.js";
import { view } from "../../src/backend/tensor.js";
import { BackendError, ShapeError } from "../../src/errors.js";
import { makeRng } from "../helpers/random.js";

function checkInvariants(a: Allocator, live: Map<number, number>, base: number): void {
  const spans = [
    ...a.freeList().map((b) => ({ start: b.start, end: b.start + b.size, free: true })),
    ...[...live].map(([start, bytes]) => ({
      start,
      end: start + Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN),
      free: false,
    })),
  ].sort((x, y) => x.start - y.start);
  let at = Math.ceil(base / ALIGN) * ALIGN;
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!;
    assert.equal(s.start, at, `blocks tile the memory without gaps or overlaps (at ${at})`);
    assert.equal(s.start % ALIGN, 0);
    if (s.free && spans[i + 1]?.free)
      assert.fail(`free blocks at ${s.start} and ${s.end} were not coalesced`);
    at = s.end;
  }
  assert.equal(at, a.stats.limit, "blocks cover the memory up to its limit");
}

test("allocator: alignment, base, coalescing", () => {
  let limit = 4096;
  const a = new Allocator({ base: 100, limit, grow: (min) => (limit = Math.max(min, limit)) });
  const p1 = a.alloc(10);
  const p2 = a.alloc(65);
  const p3 = a.alloc(64);
  assert.equal(p1, 128, "first block at the base rounded up to 64");
  assert.equal(p2, 192);
  assert.equal(p3, 320, "65 bytes take two 64-byte units");
  a.release(p2);
  a.release(p1);
  assert.equal(a.freeList()[0]!.start, 128);
  assert.equal(a.freeList()[0]!.size, 192, "p1 and p2 merged");
  a.release(p3);
  assert.equal(a.freeList().length, 1, "everything merged back into one block");
  assert.throws(() => a.release(p3), BackendError);
});

test("allocator: grows when full and keeps invariants under random alloc/free", () => {
  let limit = 1024;
  let grows = 0;
  const a = new Allocator({
    base: 256,
    limit,
    grow: (min) => {
      grows++;
      limit = Math.ceil(min / 1024) * 1024;
      return limit;
    },
  });
  const rng = makeRng(5);
  const live = new Map<number, number>();
  for (let i = 0; i < 2000; i++) {
    if (live.size > 0 && rng() < 0.45) {
      const keys = [...live.keys()];
      const k = keys[Math.floor(rng() * keys.length)]!;
      a.release(k);
      live.delete(k);
    } else {
      const bytes = 1 + Math.floor(rng() * 3000);
      const p = a.alloc(bytes);
      assert.ok(p >= 256);
      live.set(p, bytes);
    }
    if (i % 50 === 0) checkInvariants(a, live, 256);
  }
  checkInvariants(a, live, 256);
  assert.ok(grows > 0, "the memory had to grow");
  for (const k of live.keys()) a.release(k);
  assert.equal(a.stats.inUse, 0);
  assert.equal(a.freeList().length, 1);
});

test("heap store: buffers start at or above the reserved region, 64-byte aligned", () => {
  const heap = new SharedHeap(1);
  const reserved = 3 * 65536 + 10;
  heap.init(reserved);
  const store = new HeapStore(heap);
  for (const [id, dtype, size] of [
    [1, "f32", 5],
    [2, "f16", 3],
    [3, "i32", 70000],
  ] as const) {
    const buffer = { id, dtype, size, label: `b${id}` };
    store.allocate(buffer);
    const p = store.bytePtr(view(buffer, [size]));
    assert.ok(p >= reserved && p % 64 === 0, `buffer ${id} at byte ${p}`);
  }
  assert.ok(heap.memory.buffer.byteLength >= reserved + 70000 * 4, "the memory grew to fit");
  store.dispose();
  assert.equal(heap.stats.inUse, 0);
});

test("cpu f32 backend: data survives memory growth and buffer reuse", async () => {
  const be = await createCpuBackend({ precision: "f32", threads: 1 });
  const small = be.createBuffer(1000, "f32", "small");
  const data = Float32Array.from({ length: 1000 }, (_, i) => i * 0.5 - 7);
  be.write(view(small, [1000]), data);
  const half = be.createBuffer(3000, "f16", "half");
  be.fill(view(half, [3000]), 1.5);
  const big = be.createBuffer(40 << 20, "f32", "big"); // 160 MiB: forces the memory to grow
  be.fill(view(big, [10], (40 << 20) - 10), 2);
  assert.deepEqual(await be.read(view(small, [1000])), data);
  assert.deepEqual(Array.from(await be.read(view(half, [3], 2997))), [1.5, 1.5, 1.5]);
  assert.deepEqual(Array.from(await be.read(view(big, [2], (40 << 20) - 2))), [2, 2]);
  be.destroyBuffer(big);
  const again = be.createBuffer(10, "f32");
  be.write(view(again, [10]), new Float32Array(10).fill(3));
  assert.deepEqual(
    await be.read(view(small, [1000])),
    data,
    "reuse of freed memory leaves other buffers alone",
  );
  be.dispose();
});

test("backend lifecycle and validation errors name the problem", async () => {
  for (const precision of ["f32", "f64"] as const) {
    const be = await createCpuBackend({ precision, threads: 1 });
    const info = be.info();
    assert.equal(info.name, "cpu");
    assert.ok(info.device.length > 0 && info.detail.length > 0);
    assert.ok((info.limits.maxBufferBytes ?? 0) > 0);
    const buf = be.createBuffer(8, "f32", "weights");
    assert.throws(
      () => be.write(view(buf, [4]), new Float32Array(3)),
      (e) => e instanceof ShapeError && /3 elements/.test(e.message),
    );
    assert.throws(() => be.write(view(buf, [4]), new Int32Array(4)), ShapeError);
    const ids = be.createBuffer(4, "i32", "ids");
    assert.throws(() => be.write(view(ids, [4]), new Float32Array(4)), ShapeError);
    assert.throws(
      () => be.scale({ ...view(buf, [4]), offset: 6 }, view(buf, [4]), 2),
      (e) => e instanceof ShapeError && /overruns buffer "weights"/.test(e.message),
    );
    assert.throws(
      () => be.rmsnorm(view(buf, [2, 2]), view(buf, [2]), view(buf, [2, 2]), view(buf, [3]), 1e-5),
      (e) => e instanceof ShapeError && /rmsnorm weight/.test(e.message),
    );
    be.write(view(ids, [2]), Int32Array.from([0, 7]));
    assert.throws(
      () => be.crossEntropy(view(buf, [2]), view(buf, [2, 3], 2), view(ids, [2])),
      (e) => e instanceof ShapeError && /targets\[1\] = 7 is outside \[-1, 3\)/.test(e.message),
    );
    be.destroyBuffer(buf);
    await assert.rejects(
      be.read(view(buf, [4])),
      (e) => e instanceof BackendError && /weights/.test(e.message),
    );
    be.dispose();
    assert.throws(() => be.createBuffer(4, "f32"), BackendError);
  }
});
