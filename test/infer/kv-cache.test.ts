import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { createBackend } from "../../src/backend/registry.js";
import { numel, type Tensor, view } from "../../src/backend/tensor.js";
import { KvCacheError } from "../../src/infer/errors.js";
import { blocksForBudget, KvCache } from "../../src/infer/kv-cache.js";
import { kvWriteRef } from "../../src/backend/reference/paged.js";
import { createRng } from "../../src/infer/rng.js";
import { sharingPatterns } from "./layouts.js";

let backend: Backend;
before(async () => {
  backend = await createBackend("cpu", { threads: 1 });
});
after(() => backend.dispose());

const DTYPES = ["f32", "f16", "bf16"] as const;

/** Backend.kvWrite with host slots. */
function kvWrite(be: Backend, pool: Tensor, src: Tensor, slots: Int32Array): void {
  const t = view(be.createBuffer(slots.length, "i32"), [slots.length]);
  be.write(t, slots);
  be.kvWrite(pool, src, t);
  be.destroyBuffer(t.buffer);
}

/** The pool rows at `slots`, read back to the host (what pagedAttention reads). */
async function rowsAt(be: Backend, pool: Tensor, slots: Int32Array): Promise<number[]> {
  const all = await be.read(pool);
  const row = numel(pool.shape.slice(2));
  return [...slots].flatMap((s) => [...all.subarray(s * row, (s + 1) * row)]);
}
const BPE = { f32: 4, f16: 2, bf16: 2 };

test("bytes per token slot really allocated equal 2 * Hkv * D * P * bytes, for every pattern and dtype", () => {
  for (const dtype of DTYPES) {
    for (const p of sharingPatterns(dtype)) {
      const numBlocks = 5;
      const created: { size: number; dtype: string }[] = [];
      // Count what the cache asks the real backend for, as the backend reports it.
      const spy = Object.create(backend) as Backend;
      spy.createBuffer = (size, dt, label) => {
        const b = backend.createBuffer(size, dt, label);
        created.push({ size: b.size, dtype: b.dtype });
        return b;
      };
      const cache = new KvCache({ backend: spy, layout: p.layout, numBlocks });
      const formula = 2 * p.layout.nKvHeads * p.layout.headDim * p.expectedKvLayers * BPE[dtype];
      const real = created.reduce((s, b) => s + b.size * BPE[b.dtype as keyof typeof BPE], 0);
      assert.equal(
        created.length,
        2 * p.expectedKvLayers,
        `${p.name} ${dtype}: one K and one V pool per producer`,
      );
      assert.ok(created.every((b) => b.dtype === dtype));
      assert.equal(real / cache.capacityTokens(), formula, `${p.name} ${dtype}`);
      assert.equal(cache.bytesAllocated(), real);
      assert.equal(cache.layout.bytesPerToken(), formula);
      cache.dispose();
    }
  }
});

test("sharing layers read their producer's pools; producers own distinct pools", () => {
  for (const p of sharingPatterns("f16")) {
    const cache = new KvCache({ backend, layout: p.layout, numBlocks: 2 });
    const ids = new Set<number>();
    for (let l = 0; l < p.layout.nLayers; l++) {
      const prod = p.layout.producers[l]!;
      const v = cache.kvViewsFor(l);
      assert.equal(v.k.buffer.id, cache.kvViewsFor(prod).k.buffer.id, `${p.name} layer ${l}`);
      assert.equal(v.v.buffer.id, cache.kvViewsFor(prod).v.buffer.id);
      assert.deepEqual(v.k.shape, [2, p.layout.blockSize, p.layout.nKvHeads, p.layout.headDim]);
      if (prod === l) ids.add(v.k.buffer.id).add(v.v.buffer.id);
    }
    assert.equal(ids.size, 2 * p.expectedKvLayers, p.name);
    cache.dispose();
  }
});

test("pools store the layout's dtype: 1 + 2^-9 survives f16 but not bf16; 1 + 2^-12 survives only f32", async () => {
  const want = { f32: [1 + 2 ** -9, 1 + 2 ** -12], f16: [1 + 2 ** -9, 1], bf16: [1, 1] };
  for (const dtype of DTYPES) {
    const layout = { nLayers: 1, producers: [0], nKvHeads: 1, headDim: 2, dtype, blockSize: 1 };
    const cache = new KvCache({ backend, layout, numBlocks: 1 });
    const k = cache.kvViewsFor(0).k;
    backend.write(k, Float32Array.from([1 + 2 ** -9, 1 + 2 ** -12]));
    assert.deepEqual([...(await backend.read(k))], want[dtype], dtype);
    cache.dispose();
  }
});

test("Backend.kvWrite through the cache's slots match the host reference, in every dtype", async () => {
  const rng = createRng(11);
  for (const dtype of DTYPES) {
    const p = sharingPatterns(dtype, 3).find((x) => x.name === "GQA2-CLA3")!;
    const cache = new KvCache({ backend, layout: p.layout, numBlocks: 6, debug: true });
    const row = p.layout.nKvHeads * p.layout.headDim;
    cache.allocateFor("junk", 4); // fragment: "a" gets non-contiguous blocks
    cache.allocateFor("a", 5);
    cache.free("junk");
    const slots = cache.append("a", 5);
    // Values exactly representable in bf16 so every dtype round-trips exactly.
    const data = Float32Array.from({ length: 5 * row }, () => (rng.nextU32() % 64) / 8 - 4);
    const src = view(backend.createBuffer(data.length, "f32"), [5, p.layout.nKvHeads, p.layout.headDim]);
    backend.write(src, data);
    const pool = cache.kvViewsFor(4).k; // a sharing layer writes nothing itself, but reads layer 3's pool
    kvWrite(backend, cache.kvViewsFor(3).k, src, slots);
    const host = new Float32Array(6 * 3 * row);
    kvWriteRef(host, data, slots, row);
    const got = await backend.read(pool);
    host.forEach((x, i) => {
      if (x !== 0) assert.equal(got[i], x, `${dtype} element ${i}`);
    });
    assert.deepEqual(await rowsAt(backend, pool, cache.tables.slotsOf("a")), [...data]);
    backend.destroyBuffer(src.buffer);
    cache.free("a");
    assert.equal(cache.numFreeBlocks(), 6);
    cache.dispose();
  }
});

test("fork + copy-on-write copies the shared partial block in every producer's K and V pools", async () => {
  const p = sharingPatterns("bf16", 4).find((x) => x.name === "MQA-CLA2")!;
  const cache = new KvCache({ backend, layout: p.layout, numBlocks: 4, debug: true });
  const row = p.layout.nKvHeads * p.layout.headDim;
  cache.allocateFor("p", 6);
  const slots = cache.append("p", 6);
  const data = Float32Array.from({ length: 6 * row }, (_, i) => (i % 13) - 6);
  const src = view(backend.createBuffer(data.length, "f32"), [6, p.layout.nKvHeads, p.layout.headDim]);
  backend.write(src, data);
  for (const l of cache.layout.kvLayers) {
    kvWrite(backend, cache.kvViewsFor(l).k, src, slots);
    kvWrite(backend, cache.kvViewsFor(l).v, src, slots);
  }
  cache.fork("p", "c");
  const r = cache.allocateFor("c", 1);
  assert.equal(r.kind, "ok");
  cache.append("c", 1);
  for (const l of [0, 1, 2, 3, 4, 5]) {
    for (const which of ["k", "v"] as const) {
      const rows = await rowsAt(
        backend,
        cache.kvViewsFor(l)[which],
        cache.tables.slotsOf("c").subarray(0, 6),
      );
      assert.deepEqual(rows, [...data], `layer ${l} ${which}`);
    }
  }
  assert.notEqual(cache.tables.blockTable("c")[1], cache.tables.blockTable("p")[1]);
  cache.free("p");
  cache.free("c");
  assert.equal(cache.numFreeBlocks(), 4);
  backend.destroyBuffer(src.buffer);
  cache.dispose();
});

test("back-pressure results, budget sizing, dispose", () => {
  const p = sharingPatterns("f16", 4).find((x) => x.name === "MQA-CLA2")!;
  const perBlock = 2 * 1 * 8 * 3 * 2 * 4; // 2 * Hkv * D * P * bytes * blockSize
  assert.equal(blocksForBudget(p.layout, 10 * perBlock + perBlock - 1), 10);
  const cache = new KvCache({ backend, layout: p.layout, numBlocks: 3 });
  assert.deepEqual(cache.allocateFor("a", 13), { kind: "never", needed: 4, total: 3 });
  assert.equal(cache.allocateFor("a", 9).kind, "ok");
  assert.deepEqual(cache.allocateFor("b", 5), { kind: "wait", needed: 2, free: 0 });
  cache.free("a");
  assert.equal(cache.numFreeBlocks(), 3);
  cache.dispose();
  assert.throws(() => cache.kvViewsFor(0), KvCacheError);
  assert.throws(() => new KvCache({ backend, layout: p.layout, numBlocks: 0 }), /give at least 1 block/);
});
