// The engine step's device helpers and its one-submit structure (the decode linears themselves:
// decode-linear.test.ts): the q/k/v projection with the K/V append fused in, the fused K/V append
// and rope-on-load attention against the unfused f64 ops; device argmax equals the
// host Sampler's greedy pick (ties to the lowest id) and flags NaN/+Inf/all -Inf rows with -1;
// a decode step on webgpu is one write (plus the block-table rows that changed), one submit, one
// read and no aliasing copies; greedy steps give the host's tokens; on the cpu backend the step
// equals the per-layer model/forward.ts path.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { numel, reshape, type Tensor, view } from "../../src/backend/tensor.js";
import { CachedForward, type ForwardItem } from "../../src/infer/cached-forward.js";
import { LocalEngine } from "../../src/infer/engine.js";
import { decodeTuning } from "../../src/backend/webgpu/ops/decode-linear.js";
import { stepKernels } from "../../src/infer/device-kernels.js";
import type { KvCache } from "../../src/infer/kv-cache.js";
import { Sampler } from "../../src/infer/sampler.js";
import type { ModelConfig } from "../../src/model/config-types.js";
import { layerOutFfn, layerQkv } from "../../src/model/forward.js";
import { Model } from "../../src/model/model.js";
import { bindWeights } from "../../src/model/weights.js";
import { referenceBackend, testBackends } from "../helpers/backends.js";
import { assertClose, TOL } from "../helpers/compare.js";
import { makeRng, uniform } from "../helpers/random.js";
import { put } from "../helpers/tensors.js";
import { newTestCache, tinyConfig } from "./model-configs.js";

const backends = await testBackends();
const gpu = backends.find((b) => b.name === "webgpu");
const cpu = backends[0]!;
const oracle = await referenceBackend();

test("q/k/v projection with the K/V append fused in equals the projection then the append", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const rng = makeRng(15);
  // [pool dtype, M, K, H, Hkv, D]: the GEMV entry (3 rows); the tiled entry (20 and 37 rows, head
  // dims 32 and 64: one block per K/V head, blocks of 16 rows, the last one partial), taken from
  // 17 rows here (decodeTuning.tileAppendMinRows)
  const minRows = decodeTuning.tileAppendMinRows;
  decodeTuning.tileAppendMinRows = 17;
  t.after(() => {
    decodeTuning.tileAppendMinRows = minRows;
  });
  for (const [dtype, M, K, H, Hkv, D] of [
    ["f16", 3, 24, 4, 2, 16],
    ["f32", 3, 24, 4, 2, 16],
    ["f16", 20, 24, 4, 2, 32],
    ["f32", 37, 40, 2, 1, 64],
    ["bf16", 20, 24, 4, 2, 32],
  ] as const) {
    const nq = H * D;
    const nkv = Hkv * D;
    const flat = uniform(rng, (nq + 2 * nkv) * K + 2 * K, 1.5);
    const fb = put(gpu, [flat.length], flat).buffer;
    const io = {
      x: put(gpu, [M, K], uniform(rng, M * K, 2)),
      wq: view(fb, [nq, K], 0),
      wk: view(fb, [nkv, K], nq * K),
      wv: view(fb, [nkv, K], (nq + nkv) * K),
      qNorm: view(fb, [K], (nq + 2 * nkv) * K),
      kvNorm: view(fb, [K], (nq + 2 * nkv) * K + K),
      eps: 1e-5,
    };
    // positions then slots, adjacent as in the step metadata; slot -1 is skipped (the second row;
    // the others take distinct slots 5, 9, 13, ...)
    const slotList = Array.from({ length: M }, (_, i) => (i === 1 ? -1 : 5 + 4 * i));
    const positionList = Array.from({ length: M }, (_, i) => (i * 97 + 7) % 301);
    const ps = put(gpu, [2 * M], Int32Array.from([...positionList, ...slotList]));
    const positions = view(ps.buffer, [M], 0);
    const slots = view(ps.buffer, [M], M);
    const nBlocks = Math.ceil((5 + 4 * M) / 4);
    const pools = () => {
      const shape = [nBlocks, 4, Hkv, D];
      const fill = new Float32Array(nBlocks * 4 * Hkv * D).fill(0.5);
      return { kPool: put(gpu, shape, fill), vPool: put(gpu, shape, fill) };
    };
    const pool = (p: { kPool: Tensor; vPool: Tensor }) => ({
      kPool: { ...p.kPool, dtype, buffer: gpu.createBuffer(numel(p.kPool.shape), dtype) },
      vPool: { ...p.vPool, dtype, buffer: gpu.createBuffer(numel(p.vPool.shape), dtype) },
    });
    const a = pool(pools());
    const b = pool(pools());
    for (const p of [a, b]) {
      gpu.fill(p.kPool, 0.5);
      gpu.fill(p.vPool, 0.5);
    }
    const k = stepKernels(gpu);
    const outA = put(gpu, [M * (nq + 2 * nkv)], new Float32Array(M * (nq + 2 * nkv)));
    const fusedA = k.qkvLinear({ ...io, out: outA, append: { ...a, positions, slots, ropeBase: 10000 } });
    assert.ok(fusedA && fusedA.k === null && fusedA.v === null, `${dtype}: the append was fused`);
    const outB = put(gpu, [M * (nq + 2 * nkv)], new Float32Array(M * (nq + 2 * nkv)));
    const fusedB = k.qkvLinear({ ...io, out: outB });
    assert.ok(fusedB?.k && fusedB.v);
    const scratch = put(gpu, [M, Hkv, D], new Float32Array(M * Hkv * D));
    k.appendKv({
      ...b,
      kPre: reshape(fusedB.k, [M, Hkv, D]),
      v: reshape(fusedB.v, [M, Hkv, D]),
      slots,
      positions,
      ropeBase: 10000,
      k: scratch,
    });
    assertClose(
      `${dtype} q`,
      (await gpu.read(fusedA.q)) as Float32Array,
      (await gpu.read(fusedB.q)) as Float32Array,
      TOL.reduce,
    );
    for (const pool of ["kPool", "vPool"] as const) {
      assertClose(
        `${dtype} ${pool}`,
        (await gpu.read(a[pool])) as Float32Array,
        (await gpu.read(b[pool])) as Float32Array,
        TOL.reduce,
      );
    }
    // exactly the rows' slots were written; everything else (the slot -1 row's nowhere) kept its fill
    const kA = (await gpu.read(a.kPool)) as Float32Array;
    const row = Hkv * D;
    for (let slot = 0; slot < nBlocks * 4; slot++) {
      const written = kA.subarray(slot * row, (slot + 1) * row).some((x) => x !== 0.5);
      assert.equal(written, slotList.includes(slot), `${dtype} M${M}: slot ${slot} written`);
    }
  }
});

test("fused K/V append (rope + both pools) and rope-on-load attention equal the unfused f64 ops", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const rng = makeRng(13);
  for (const [dtype, H, Hkv, D] of [
    ["f16", 8, 1, 16],
    ["f32", 4, 2, 8],
    ["bf16", 6, 3, 12],
  ] as const) {
    const bs = 4;
    const numBlocks = 6;
    const slots = Int32Array.from([9, -1, 2, 13, 22]); // a padding row (-1)
    const N = slots.length;
    const positions = Int32Array.from([9, 3, 2, 13, 300]);
    const kPre = uniform(rng, N * Hkv * D);
    const v = uniform(rng, N * Hkv * D);
    const qPre = uniform(rng, N * H * D, 2);
    const poolInit = uniform(rng, numBlocks * bs * Hkv * D);
    const res: (Float32Array | Float64Array)[][] = [];
    for (const be of [gpu, oracle] as Backend[]) {
      const pool = () => {
        const p = view(be.createBuffer(numBlocks * bs * Hkv * D, dtype, "pool"), [numBlocks, bs, Hkv, D]);
        be.write(p, poolInit);
        return p;
      };
      const kPool = pool();
      const vPool = pool();
      const k = stepKernels(be);
      const pos = put(be, [N], positions);
      const rt: { stats: { dispatches: number } } | undefined = (
        be as unknown as { rt?: { stats: { dispatches: number } } }
      ).rt;
      const d0 = rt?.stats.dispatches ?? 0;
      k.appendKv({
        kPool,
        vPool,
        kPre: put(be, [N, Hkv, D], kPre),
        v: put(be, [N, Hkv, D], v),
        slots: put(be, [N], slots),
        positions: pos,
        ropeBase: 100,
        k: put(be, [N, Hkv, D], new Float32Array(N * Hkv * D)),
      });
      // attention: each row is its own sequence of 1 query over 4 keys (its block), positions
      // as given (seqLens = position + 1 means a block table long enough: use 1 block, keys 0..3)
      const out = put(be, [N, H, D], new Float32Array(N * H * D));
      const lens = Int32Array.from(positions, (p) => p + 1);
      const mb = Math.ceil(301 / bs);
      const tables = new Int32Array(N * mb).map((_, i) => i % numBlocks);
      k.ropeAttention(
        {
          out,
          qPre: put(be, [N, H, D], qPre),
          kPool,
          vPool,
          positions: pos,
          ropeBase: 100,
          q: put(be, [N, H, D], new Float32Array(N * H * D)),
        },
        {
          blockTables: put(be, [N, mb], tables),
          seqLens: put(be, [N], lens),
          queryStarts: put(
            be,
            [N + 1],
            Int32Array.from({ length: N + 1 }, (_, i) => i),
          ),
          causal: true,
        },
      );
      // fused: 1 append + 2 attention dispatches (bf16 with D 12: the attention is unfused)
      if (rt) assert.equal(rt.stats.dispatches - d0, dtype === "bf16" ? 4 : 3, `${dtype} dispatches`);
      res.push([
        (await be.read(kPool)) as Float32Array,
        (await be.read(vPool)) as Float32Array,
        (await be.read(out)) as Float32Array,
      ]);
    }
    const tol = dtype === "f32" ? TOL.elementwise : dtype === "f16" ? TOL.f16 : TOL.bf16;
    assertClose(`${dtype} K pool`, res[0]![0]!, res[1]![0]!, tol);
    assertClose(`${dtype} V pool`, res[0]![1]!, res[1]![1]!, TOL.exact);
    assertClose(`${dtype} attention`, res[0]![2]!, res[1]![2]!, Math.max(tol, TOL.attention));
  }
});

test("device argmax equals the host's greedy pick; bad rows give -1; long rows", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const argmax = stepKernels(gpu).argmax;
  assert.ok(argmax, "webgpu has a device argmax");
  assert.equal(stepKernels(cpu).argmax, null, "cpu samples on the host");
  const V = 1000;
  const rng = makeRng(5);
  const rows: Float32Array[] = [];
  for (let i = 0; i < 4; i++) rows.push(uniform(rng, V, 3));
  const tie = new Float32Array(V).fill(-2);
  tie[700] = 5;
  tie[300] = 5; // tie: the lowest index wins
  tie[999] = 5;
  rows.push(tie);
  const negInf = uniform(rng, V).map((x, i) => (i % 3 ? Number.NEGATIVE_INFINITY : x - 10));
  rows.push(negInf);
  const nan = uniform(rng, V);
  nan[17] = Number.NaN;
  const inf = uniform(rng, V);
  inf[400] = Number.POSITIVE_INFINITY;
  const allNegInf = new Float32Array(V).fill(Number.NEGATIVE_INFINITY);
  rows.push(nan, inf, allNegInf);
  const flat = new Float32Array(rows.length * V);
  rows.forEach((r, i) => {
    flat.set(r, i * V);
  });
  const out = put(gpu, [rows.length], new Int32Array(rows.length).fill(-9));
  argmax(out, put(gpu, [rows.length, V], flat, 3));
  const got = (await gpu.read(out)) as Int32Array;
  const greedy = new Sampler({ temperature: 0 }, 0);
  for (let i = 0; i < 6; i++) assert.equal(got[i], greedy.sample(rows[i]!), `row ${i}`);
  assert.equal(got[4], 300);
  assert.deepEqual([...got.slice(6)], [-1, -1, -1]);
  // a vocabulary over several rounds of the kernel's loads (256 threads x 8), the maximum in the
  // last, partial round or in the first element
  const W = 5003;
  const last = uniform(rng, W);
  last[W - 1] = 9;
  const first = uniform(rng, W);
  first[0] = 9;
  const two = new Float32Array(2 * W);
  two.set(last);
  two.set(first, W);
  const out2 = put(gpu, [2], new Int32Array(2).fill(-9));
  argmax(out2, put(gpu, [2, W], two));
  assert.deepEqual([...((await gpu.read(out2)) as Int32Array)], [W - 1, 0]);
});

function newCache(be: Backend, cfg: ModelConfig): KvCache {
  return newTestCache(be, cfg, 24, false);
}

const CFG = tinyConfig("MQA-CLA2", 1, { kind: "uniform", factor: 2 }, "f16");
const PROMPTS: Record<string, number[]> = { a: [5, 9, 1, 30, 2], b: [3, 3, 36] };

/** Prefills both prompts, then decodes `steps` greedy tokens; returns tokens and per-step counts. */
async function greedyDecode(be: Backend, device: boolean, steps: number) {
  const model = Model.create(be, CFG, { seed: 3 });
  const cache = newCache(be, CFG);
  const fwd = new CachedForward(model, cache);
  const seqs = Object.fromEntries(Object.entries(PROMPTS).map(([k, v]) => [k, [...v]]));
  const rt = (be as unknown as { rt?: { stats: Record<string, number> } }).rt;
  const counts: Record<string, number>[] = [];
  let next = Object.keys(seqs).map((id) => ({ id, start: 0, tokens: seqs[id]! }));
  for (let s = 0; s <= steps; s++) {
    const items: ForwardItem[] = next.map(({ id, start, tokens }) => {
      cache.allocateFor(id, tokens.length);
      return { id, start, tokens, slots: cache.append(id, tokens.length), sample: true };
    });
    const before = rt ? { ...rt.stats } : {};
    const packed0 = { ...fwd.packer.counts };
    let picked: number[];
    if (device) {
      const r = await fwd.runGreedy(items);
      assert.equal(r.kind, "tokens");
      picked = r.kind === "tokens" ? [...r.tokens] : [];
    } else {
      const logits = await fwd.run(items);
      const g = new Sampler({ temperature: 0 }, 0);
      const V = CFG.vocabSize;
      picked = items.map((_, m) => g.sample(logits.subarray(m * V, (m + 1) * V)));
    }
    if (rt) {
      const c = Object.fromEntries(Object.entries(rt.stats).map(([k, v]) => [k, v - before[k]!]));
      c.metaWrites = fwd.packer.counts.writes - packed0.writes;
      c.rowsPacked = fwd.packer.counts.rowsPacked - packed0.rowsPacked;
      counts.push(c);
    }
    next = items.map((it, m) => {
      seqs[it.id]!.push(picked[m]!);
      return { id: it.id, start: it.start + it.tokens.length, tokens: [picked[m]!] };
    });
  }
  fwd.dispose();
  cache.dispose();
  model.dispose();
  return { seqs, counts };
}

test("webgpu decode step: one write (+ changed table rows), one submit, one read, no aliasing copies; greedy = host argmax", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const host = await greedyDecode(gpu, false, 4);
  const dev = await greedyDecode(gpu, true, 4);
  assert.deepEqual(dev.seqs, host.seqs, "device argmax picks the host's tokens");
  for (const c of [...host.counts.slice(2), ...dev.counts.slice(2)]) {
    // the metadata: one write, plus the block-table rows that changed since the step before
    assert.equal(c.writes, c.metaWrites, "host writes are the metadata's only");
    if (c.rowsPacked === 0) assert.equal(c.writes, 1, "one metadata upload per step");
    else assert.ok(c.writes! <= 1 + c.rowsPacked!, "table rows uploaded only where they changed");
    assert.equal(c.submits, 1, "one submit per step");
    assert.equal(c.reads, 1, "one host read per step");
    assert.equal(c.shadowCopies, 0, "no aliasing copies");
    assert.equal(c.bindGroupsCreated, 0, "bind groups cached across decode steps");
  }
  assert.equal(dev.counts[1]!.submits, 1, "the first decode step too");
  // the device-argmax step records exactly one more dispatch than the logits step
  assert.equal(dev.counts[2]!.dispatches, host.counts[2]!.dispatches! + 1);
});

test("webgpu engine: plain-greedy requests (device argmax) equal top-k 1 requests (host sampler)", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const model = Model.create(gpu, CFG, { seed: 6 });
  const eng = new LocalEngine({ model, blockSize: 4 });
  const run = async (sampling: { temperature: number; topK?: number }) => {
    const rt = (gpu as unknown as { rt: { stats: { dispatches: number } } }).rt;
    const d0 = rt.stats.dispatches;
    const out = await Promise.all(
      Object.entries(PROMPTS).map(async ([id, p]) => {
        const toks: number[] = [];
        for await (const c of eng.generate({ id, promptTokens: p, maxTokens: 6, ...sampling })) {
          toks.push(...c.tokens);
        }
        return toks;
      }),
    );
    return { out, dispatches: rt.stats.dispatches - d0 };
  };
  const dev = await run({ temperature: 0 });
  const host = await run({ temperature: 1, topK: 1 });
  assert.deepEqual(dev.out, host.out);
  assert.equal(dev.out[0]!.length, 6);
  // the same steps, plus one argmax dispatch per step on the device path
  assert.ok(dev.dispatches > host.dispatches, `${dev.dispatches} vs ${host.dispatches} dispatches`);
  eng.dispose();
  model.dispose();
});

test("cpu: the one-submit step equals the per-layer model/forward.ts path", async () => {
  const model = Model.create(cpu, CFG, { seed: 8 });
  const ids = PROMPTS.a!;
  const N = ids.length;
  // the new step
  const cache = newCache(cpu, CFG);
  const fwd = new CachedForward(model, cache);
  cache.allocateFor("a", N);
  const got = await fwd.run([{ id: "a", start: 0, tokens: ids, slots: cache.append("a", N), sample: true }]);
  // the old path: layerQkv + kvWrite + pagedAttention + layerOutFfn on a fresh cache
  const cache2 = newCache(cpu, CFG);
  cache2.allocateFor("a", N);
  const slots = put(cpu, [N], cache2.append("a", N));
  const { dModel: C, nHeads: H, nKvHeads: Hkv, headDim: D, ffnDim: F, vocabSize: V } = CFG;
  const w = bindWeights(model.layout, CFG.nLayers, model.paramsFlat().buffer);
  const ctx = { backend: cpu, cfg: CFG, producers: model.layout.producers, w };
  const f = (shape: number[]) =>
    view(
      cpu.createBuffer(
        shape.reduce((a, b) => a * b, 1),
        "f32",
      ),
      shape,
    );
  const meta = {
    blockTables: put(
      cpu,
      [1, cache2.tables.blockTable("a").length],
      Int32Array.from(cache2.tables.blockTable("a")),
    ),
    seqLens: put(cpu, [1], Int32Array.from([N])),
    queryStarts: put(cpu, [2], Int32Array.from([0, N])),
  };
  const positions = put(cpu, [N], Int32Array.from(ids.keys()));
  let x = f([N, C]);
  let nx = f([N, C]);
  cpu.embedding(x, w.embed, put(cpu, [N], Int32Array.from(ids)));
  const xq = f([N, C]);
  const qRstd = f([N]);
  const k = f([N, Hkv, D]);
  const v = f([N, Hkv, D]);
  const q = f([N, H, D]);
  const att = f([N, H, D]);
  const io = { resMid: f([N, C]), xf: xq, fRstd: qRstd, gu: f([N, 2 * F]), h: f([N, F]) };
  for (let l = 0; l < CFG.nLayers; l++) {
    const producer = cache2.layout.isProducer(l);
    layerQkv(ctx, l, {
      x,
      positions,
      xq,
      qRstd,
      q,
      ...(producer ? { kv: { xkv: xq, kvRstd: qRstd, k, v } } : {}),
    });
    const pools = cache2.kvViewsFor(l);
    if (producer) {
      cpu.kvWrite(pools.k, k, slots);
      cpu.kvWrite(pools.v, v, slots);
    }
    cpu.pagedAttention(att, q, pools.k, pools.v, meta);
    layerOutFfn(ctx, l, { x, att, ...io, out: nx });
    [x, nx] = [nx, x];
  }
  const last = f([1, C]);
  cpu.embedding(last, x, put(cpu, [1], Int32Array.from([N - 1])));
  const xn = f([1, C]);
  cpu.rmsnorm(xn, f([1]), last, w.norm, CFG.normEps);
  const logits = f([1, V]);
  cpu.matmul(logits, xn, w.lmHead, { transB: true });
  const want = (await cpu.read(reshape(logits, [V]))) as Float32Array;
  // Same ops, same order; only the residual adds moved into the linears' accumulate.
  assert.deepEqual([...got], [...want], "bit-for-bit");
  fwd.dispose();
  cache.dispose();
  cache2.dispose();
  model.dispose();
});
