// The tensor-core pagedAttention partials kernel (paged_attention_mma.wgsl, ops/paged-mma.ts).
// - Everywhere: which devices and shapes it serves (a stand-in runtime with the adapter's info),
//   where it is preferred by default (pagedTuning.mma "faster"), a backend's own mode per call, and
//   the cpu backend refusing that WebGPU option.
// - On a GPU with subgroup matrices (NVIDIA through Vulkan): outputs and log-sum-exps against the
//   f64 CPU reference over MQA/GQA, D 16..128, pages of 16, 32 and 48 slots, ragged tails,
//   prefill + decode rows, causal and not, one split and many, q roped on load (the engine step's
//   form); with every unused pool slot NaN, so a key block past a row's keys must mask its scores
//   and must not multiply stale V rows by zero.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import type { DType, Tensor } from "../../src/backend/tensor.js";
import { view } from "../../src/backend/tensor.js";
import { pagedKernelCounts, pagedTuning, partialsPlan } from "../../src/backend/webgpu/ops/paged-plan.js";
import { deviceRunsAttentionMma, mmaFaster, mmaPlan } from "../../src/backend/webgpu/ops/paged-mma.js";
import { createBackend } from "../../src/backend/registry.js";
import type { Runtime } from "../../src/backend/webgpu/runtime.js";
import type { WebGpuBackend } from "../../src/backend/webgpu/webgpu-backend.js";
import { stepKernels } from "../../src/infer/device-kernels.js";
import { referenceBackend, testBackends } from "../helpers/backends.js";
import { assertClose } from "../helpers/compare.js";
import { pagedBatch, poisonUnusedSlots } from "../helpers/paged.js";
import { makeRng, uniform } from "../helpers/random.js";
import { putAs } from "../helpers/tensors.js";

const F16_CONFIG = { componentType: "f16", resultComponentType: "f32", M: 16, N: 8, K: 16 };
const F16_SQUARE = { ...F16_CONFIG, N: 16 };

function standIn(
  info: Record<string, unknown>,
  features = ["shader-f16", "subgroups", "chromium-experimental-subgroup-matrix"],
) {
  return {
    hasFeature: (f: string) => features.includes(f),
    ctx: { adapter: { info } },
  } as unknown as Runtime;
}

const pool = (dtype: DType, offset = 0) => ({ dtype, offset }) as Tensor;

test("the tensor-core attention kernel needs 32-lane subgroups and f16 16x8x16 and 16x16x16", () => {
  const nvidia = {
    subgroupMinSize: 32,
    subgroupMaxSize: 32,
    subgroupMatrixConfigs: [F16_CONFIG, F16_SQUARE],
  };
  assert.equal(deviceRunsAttentionMma(standIn(nvidia)), true);
  assert.equal(deviceRunsAttentionMma(standIn({ ...nvidia, subgroupMaxSize: 64 })), false);
  const only = (...configs: object[]) => standIn({ ...nvidia, subgroupMatrixConfigs: configs });
  assert.equal(deviceRunsAttentionMma(only(F16_SQUARE)), false);
  assert.equal(deviceRunsAttentionMma(only(F16_CONFIG)), false);
  assert.equal(
    deviceRunsAttentionMma(only({ ...F16_CONFIG, resultComponentType: "f16" }, F16_SQUARE)),
    false,
  );
  assert.equal(deviceRunsAttentionMma(standIn({ subgroupMinSize: 32, subgroupMaxSize: 32 })), false);
  assert.equal(deviceRunsAttentionMma(standIn(nvidia, ["subgroups"])), false);
  const rt = standIn(nvidia);
  const f16 = pool("f16");
  assert.deepEqual(mmaPlan(rt, f16, f16, { hd: 64, gq: 8, blockSize: 16 }), { HD: 64, GQ: 8 });
  assert.deepEqual(mmaPlan(rt, f16, f16, { hd: 128, gq: 3, blockSize: 32 }), { HD: 128, GQ: 3 });
  assert.deepEqual(mmaPlan(rt, pool("f16", 32), pool("f16", 4096), { hd: 16, gq: 1, blockSize: 16 }), {
    HD: 16,
    GQ: 1,
  });
  assert.equal(mmaPlan(rt, pool("bf16"), pool("bf16"), { hd: 64, gq: 8, blockSize: 16 }), null);
  assert.equal(mmaPlan(rt, f16, f16, { hd: 64, gq: 16, blockSize: 16 }), null); // > 8 heads per K/V head
  assert.equal(mmaPlan(rt, f16, f16, { hd: 48, gq: 8, blockSize: 16 }), null); // 3 dim blocks over 8 subgroups
  assert.equal(mmaPlan(rt, f16, f16, { hd: 256, gq: 1, blockSize: 16 }), null);
  assert.equal(mmaPlan(rt, f16, f16, { hd: 64, gq: 8, blockSize: 8 }), null); // pages of half a key block
  assert.equal(mmaPlan(rt, pool("f16", 8), f16, { hd: 64, gq: 8, blockSize: 16 }), null); // a row split by the offset
  assert.equal(mmaPlan(standIn({}), f16, f16, { hd: 64, gq: 8, blockSize: 16 }), null);
});

test("the tensor-core attention kernel is preferred where it was measured faster", () => {
  assert.equal(mmaFaster(1, 8192), true); // batch 1 at context 4096 (tables padded to 512 blocks)
  assert.equal(mmaFaster(16, 8192), true);
  assert.equal(mmaFaster(64, 1024), true); // 64 rows at context 512
  assert.equal(mmaFaster(32, 8192), false); // 32 rows at 4096: slower
  assert.equal(mmaFaster(128, 1024), false); // 128 rows: slower
});

test("partials plans: the tensor-core kernel where it applies and was measured faster (default), or as asked", () => {
  const nvidia = {
    subgroupMinSize: 32,
    subgroupMaxSize: 32,
    subgroupMatrixConfigs: [F16_CONFIG, F16_SQUARE],
  };
  const rt = Object.assign(standIn(nvidia), { limits: { maxComputeWorkgroupStorageSize: 49152 } });
  const f16 = pool("f16");
  const plan = (rows: number, maxKeys: number, kv = f16) =>
    partialsPlan(rt, kv, kv, { hd: 64, gq: 8, blockSize: 16, rows, maxKeys }).kind;
  const saved = { ...pagedTuning };
  try {
    assert.equal(pagedTuning.mma, "faster", "the default");
    assert.equal(plan(1, 8192), "mma");
    assert.equal(plan(128, 8192), "vec");
    assert.equal(plan(1, 8192, pool("bf16")), "vec");
    // a backend's own mode (WebGpuOptions.attentionMma) overrides the process default per call
    const planAs = (mma: "off" | "faster" | "always", rows: number) =>
      partialsPlan(rt, f16, f16, { hd: 64, gq: 8, blockSize: 16, rows, maxKeys: 8192, mma }).kind;
    assert.equal(planAs("off", 1), "vec");
    assert.equal(planAs("always", 128), "mma");
    pagedTuning.mma = "off";
    assert.equal(plan(1, 8192), "vec");
    assert.equal(planAs("faster", 1), "mma");
    pagedTuning.mma = "always";
    assert.equal(plan(128, 8192), "mma");
    const p = partialsPlan(rt, f16, f16, { hd: 64, gq: 8, blockSize: 16, rows: 1, maxKeys: 512 });
    assert.equal(p.granularity % 16, 0, "splits start on whole key blocks");
    assert.deepEqual(p.constants(4, 4, 1), { HD: 64, GQ: 8, ROPE: 1 });
    pagedTuning.kernel = "general";
    assert.equal(plan(1, 8192), "general");
  } finally {
    Object.assign(pagedTuning, saved);
  }
});

interface Case {
  heads: [number, number, number]; // H, Hkv, D
  blockSize: number;
  seqs: [number, number][]; // [cached, new] per sequence
  causal: boolean;
  minKeysPerSplit?: number;
  ropeBase?: number;
}

const CASES: Case[] = [
  { heads: [8, 1, 64], blockSize: 16, seqs: [[300, 1]], causal: true },
  {
    heads: [8, 1, 64],
    blockSize: 16,
    seqs: [
      [300, 1],
      [40, 6],
    ],
    causal: true,
    ropeBase: 10000,
  },
  {
    heads: [8, 1, 64],
    blockSize: 16,
    seqs: [
      [4000, 1],
      [17, 1],
      [0, 5],
      [130, 1],
    ],
    causal: true,
  },
  {
    heads: [6, 2, 64],
    blockSize: 32,
    seqs: [
      [333, 1],
      [64, 1],
    ],
    causal: true,
    minKeysPerSplit: 40,
  },
  { heads: [4, 1, 128], blockSize: 16, seqs: [[150, 2]], causal: true, minKeysPerSplit: 1 },
  { heads: [16, 2, 32], blockSize: 16, seqs: [[0, 37]], causal: true },
  { heads: [2, 2, 16], blockSize: 48, seqs: [[90, 3]], causal: false },
];

async function run(be: Backend, c: Case, seed: number) {
  const rng = makeRng(seed);
  const [H, Hkv, D] = c.heads;
  const batch = pagedBatch(c.seqs, c.blockSize);
  const { lens, starts, n: N, numBlocks, mb, tables } = batch;
  const shape = [numBlocks, c.blockSize, Hkv, D];
  const row = Hkv * D;
  const k = uniform(rng, numBlocks * c.blockSize * row, 2);
  const v = uniform(rng, numBlocks * c.blockSize * row);
  poisonUnusedSlots([k, v], batch, c.blockSize, row);
  const out = view(be.createBuffer(N * H * D, "f32", "out"), [N, H, D]);
  const lse = view(be.createBuffer(N * H, "f32", "lse"), [N, H]);
  const q = putAs(be, [N, H, D], "f32", uniform(rng, N * H * D, 2));
  const kPool = putAs(be, shape, "f16", k);
  const vPool = putAs(be, shape, "f16", v);
  const meta = {
    blockTables: putAs(be, [c.seqs.length, mb], "i32", tables),
    seqLens: putAs(be, [c.seqs.length], "i32", Int32Array.from(lens)),
    queryStarts: putAs(be, [c.seqs.length + 1], "i32", Int32Array.from(starts)),
    lse,
    causal: c.causal,
  };
  if (c.ropeBase === undefined) be.pagedAttention(out, q, kPool, vPool, meta);
  else {
    // the engine step's form: q before rope, rotated by each row's position (fused on webgpu)
    const pos = c.seqs.flatMap(([cached, fresh]) => Array.from({ length: fresh }, (_, i) => cached + i));
    const positions = putAs(be, [N], "i32", Int32Array.from(pos));
    const scratch = putAs(be, [N, H, D], "f32", new Float32Array(N * H * D));
    stepKernels(be).ropeAttention(
      { out, qPre: q, kPool, vPool, positions, ropeBase: c.ropeBase, q: scratch },
      meta,
    );
  }
  return { out: await be.read(out), lse: await be.read(lse) };
}

const gpu = (await testBackends()).find((b) => b.name === "webgpu") as WebGpuBackend | undefined;
const ref = await referenceBackend();
const mmaHere = gpu !== undefined && deviceRunsAttentionMma(gpu.rt);

test("tensor-core pagedAttention equals the f64 reference (webgpu with subgroup matrices)", {
  skip: !mmaHere && "needs a GPU with subgroup matrices (f16 16x8x16) and 32-lane subgroups",
}, async () => {
  for (const [i, c] of CASES.entries()) {
    const want = await run(ref, c, 11 + i);
    const saved = { ...pagedTuning };
    if (c.minKeysPerSplit !== undefined) pagedTuning.vecMinKeysPerSplit = c.minKeysPerSplit;
    pagedTuning.mma = "always";
    try {
      const before = pagedKernelCounts.mma;
      const got = await run(gpu!, c, 11 + i);
      assert.equal(pagedKernelCounts.mma, before + 1, `case ${i} ran the tensor-core kernel`);
      // q and the softmax weights are rounded to f16 (the cache's own precision): ~1e-3
      assertClose(`case ${i} H${c.heads} out`, got.out, want.out, 4e-3);
      assertClose(`case ${i} H${c.heads} lse`, got.lse, want.lse, 2e-3);
    } finally {
      Object.assign(pagedTuning, saved);
    }
  }
});

test("--attention-mma is a WebGPU option: the cpu backend refuses it by name", async () => {
  await assert.rejects(
    createBackend("cpu", { attentionMma: "off" }),
    /drop --attention-mma or use --backend webgpu/,
  );
});
