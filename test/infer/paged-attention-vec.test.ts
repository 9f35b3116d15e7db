// The streaming pagedAttention kernel (paged_attention_vec.wgsl: wide K/V loads, one tile per
// query-head group, key groups merged at the end) against the f64 CPU reference: pools at aligned
// offsets (so the streaming path runs; op tests place tensors at odd offsets and get the general
// kernel), MHA/GQA/MQA, D 4..256, f32/f16/bf16, long contexts over several tiles of 16-128 keys,
// ragged tails, mixed prefill + decode, causal and not, one split and many, the key groups merged
// pairwise or group by group, every pool slot no sequence uses NaN (the tensor-core kernel, which
// f16 pools get on GPUs with subgroup matrices, off). WebGPU only.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { pagedKernelCounts, pagedTuning, treeMerge } from "../../src/backend/webgpu/ops/paged-plan.js";
import { type DType, view } from "../../src/backend/tensor.js";
import { referenceBackend, testBackends } from "../helpers/backends.js";
import { assertClose, TOL } from "../helpers/compare.js";
import { pagedBatch, poisonUnusedSlots } from "../helpers/paged.js";
import { makeRng, uniform } from "../helpers/random.js";
import { putAs } from "../helpers/tensors.js";

interface Case {
  heads: [number, number, number]; // H, Hkv, D
  dtype: DType;
  blockSize: number;
  seqs: [number, number][]; // [cached, new] per sequence
  causal: boolean;
  minKeysPerSplit?: number;
}

const CASES: Case[] = [
  { heads: [8, 1, 64], dtype: "f16", blockSize: 16, seqs: [[300, 1]], causal: true },
  {
    heads: [8, 1, 64],
    dtype: "f16",
    blockSize: 16,
    seqs: [
      [300, 1],
      [17, 1],
      [0, 5],
    ],
    causal: true,
    minKeysPerSplit: 40,
  },
  {
    heads: [8, 2, 16],
    dtype: "bf16",
    blockSize: 5,
    seqs: [
      [260, 1],
      [3, 4],
    ],
    causal: true,
  },
  { heads: [4, 4, 8], dtype: "f32", blockSize: 3, seqs: [[140, 2]], causal: false },
  { heads: [16, 1, 32], dtype: "f16", blockSize: 8, seqs: [[200, 1]], causal: true, minKeysPerSplit: 1 },
  { heads: [6, 3, 16], dtype: "f32", blockSize: 4, seqs: [[0, 7]], causal: true },
  // tile shapes: 3 heads per K/V head over 2 threads per key; 32-key tiles (D 128 f16, D 64 f32);
  // 16-key tiles with idle scoring threads (D 256); one-word rows and 128-key tiles (D 4 f32)
  {
    heads: [6, 2, 64],
    dtype: "f16",
    blockSize: 16,
    seqs: [
      [333, 1],
      [64, 1],
    ],
    causal: true,
  },
  { heads: [4, 1, 128], dtype: "f16", blockSize: 16, seqs: [[150, 2]], causal: true },
  { heads: [8, 1, 64], dtype: "f32", blockSize: 16, seqs: [[100, 3]], causal: true },
  { heads: [2, 1, 256], dtype: "bf16", blockSize: 7, seqs: [[90, 1]], causal: true, minKeysPerSplit: 1 },
  { heads: [4, 2, 4], dtype: "f32", blockSize: 3, seqs: [[200, 1]], causal: true },
];

async function run(be: Backend, c: Case, seed: number): Promise<Float32Array | Float64Array> {
  const rng = makeRng(seed);
  const [H, Hkv, D] = c.heads;
  const batch = pagedBatch(c.seqs, c.blockSize);
  const { lens, starts, n: N, numBlocks, mb, tables } = batch;
  const pool = [numBlocks, c.blockSize, Hkv, D];
  const poolN = numBlocks * c.blockSize * Hkv * D;
  const q = uniform(rng, N * H * D, 2);
  const k = uniform(rng, poolN, 2);
  const v = uniform(rng, poolN);
  poisonUnusedSlots([k, v], batch, c.blockSize, Hkv * D);
  const out = view(be.createBuffer(N * H * D, "f32", "out"), [N, H, D]);
  const lse = view(be.createBuffer(N * H, "f32", "lse"), [N, H]);
  be.pagedAttention(
    out,
    putAs(be, [N, H, D], "f32", q),
    putAs(be, pool, c.dtype, k),
    putAs(be, pool, c.dtype, v),
    {
      blockTables: putAs(be, [c.seqs.length, mb], "i32", tables),
      seqLens: putAs(be, [c.seqs.length], "i32", Int32Array.from(lens)),
      queryStarts: putAs(be, [c.seqs.length + 1], "i32", Int32Array.from(starts)),
      lse,
      causal: c.causal,
    },
  );
  const o = (await be.read(out)) as Float32Array | Float64Array;
  const l = (await be.read(lse)) as Float32Array | Float64Array;
  const both = new Float64Array(o.length + l.length);
  both.set(o);
  both.set(l, o.length);
  return both;
}

// Created at the top level so the backends' `after` disposal runs once the whole file is done.
const gpu = (await testBackends()).find((b) => b.name === "webgpu");
const ref = await referenceBackend();

test("streaming pagedAttention kernel equals the f64 reference, either final merge (webgpu)", async (t) => {
  if (!gpu) {
    t.skip("webgpu unavailable");
    return;
  }
  for (const [i, c] of CASES.entries()) {
    const want = await run(ref, c, 7 + i);
    const saved = { ...pagedTuning };
    if (c.minKeysPerSplit !== undefined) pagedTuning.vecMinKeysPerSplit = c.minKeysPerSplit;
    pagedTuning.mma = "off"; // (its default) f16 pools may take the tensor-core kernel where the GPU has one
    try {
      // the key groups merged pairwise (TREE) and group by group
      for (const tree of [true, false]) {
        pagedTuning.vecTreeMerge = tree;
        const before = pagedKernelCounts.vec;
        const got = await run(gpu, c, 7 + i);
        assert.equal(pagedKernelCounts.vec, before + 1, `case ${i} ran the streaming kernel`);
        assertClose(`case ${i} H${c.heads} ${c.dtype} tree ${tree}`, got, want, TOL.attention);
      }
    } finally {
      Object.assign(pagedTuning, saved);
    }
  }
});

test("the pairwise merge serves splits of one tile over few workgroups (auto)", () => {
  assert.equal(treeMerge(4096, 32, 32), true); // batch 1 at context 4096: 128 keys per split
  assert.equal(treeMerge(512, 4, 64), true); // batch 16 at context 512
  assert.equal(treeMerge(512, 4, 512), false); // batch 128 at context 512: a full wave
  assert.equal(treeMerge(4096, 4, 512), false); // batch 128 at 4096: 1,024 keys (8 tiles) per split
  assert.equal(treeMerge(300, 2, 2), false);
  assert.equal(treeMerge(256, 2, 256), true);
});

test("general kernel still serves unaligned pools and odd head dims", async (t) => {
  if (!gpu) {
    t.skip("webgpu unavailable");
    return;
  }
  // the last two: hundreds of one-key splits merged by the combine kernel, head dims that leave
  // some of its threads idle (20) or need two passes over the dims (160)
  const cases: Case[] = [
    { heads: [8, 1, 64], dtype: "f16", blockSize: 16, seqs: [[90, 2]], causal: true },
    {
      heads: [6, 2, 20],
      dtype: "f32",
      blockSize: 7,
      seqs: [
        [150, 1],
        [9, 3],
      ],
      causal: true,
      minKeysPerSplit: 1,
    },
    { heads: [2, 1, 160], dtype: "bf16", blockSize: 4, seqs: [[70, 1]], causal: true, minKeysPerSplit: 1 },
  ];
  const saved = { ...pagedTuning };
  pagedTuning.kernel = "general";
  try {
    for (const [i, c] of cases.entries()) {
      pagedTuning.minKeysPerSplit = c.minKeysPerSplit ?? saved.minKeysPerSplit;
      pagedTuning.targetWorkgroups = c.minKeysPerSplit ? 4096 : saved.targetWorkgroups;
      const before = pagedKernelCounts.general;
      const got = await run(gpu, c, 99 + i);
      assert.equal(pagedKernelCounts.general, before + 1);
      assertClose(`general kernel case ${i}`, got, await run(ref, c, 99 + i), TOL.attention);
    }
  } finally {
    Object.assign(pagedTuning, saved);
  }
});
