// The opt-in f16 tensor-core matmul (kernels/matmul_subgroup.wgsl, `--tensor-cores`).
// - Everywhere (CI too): which shapes a backend with tensor cores sends to the kernel, its vector
//   widths, and the clear error of a device without the features (llvmpipe has neither).
// - On devices with shader-f16 and subgroup matrices (an H100 through Dawn/Vulkan), against the
//   f64 reference: vector loads (4-aligned offsets and contiguous dimensions) and scalar loads
//   (offsets of 3), the unchecked 128 x 256 x 32 multiple with its direct store, bounds-checked
//   edges, transposes, batches with broadcast b, alpha/accumulate through the staging epilogue,
//   f16/bf16 b. Operands are rounded to f16, hence the looser bound.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import type { Tensor } from "../../src/backend/tensor.js";
import { createBackend } from "../../src/backend/registry.js";
import { createWebGpuBackend } from "../../src/backend/webgpu/index.js";
import { backendFromFlag } from "../../src/cli/backend-option.js";
import {
  missingTensorCoreFeatures,
  SUBGROUP_TILE,
  setMatmulTileOverride,
} from "../../src/backend/webgpu/ops/matmul.js";
import { scheduleMatmul } from "../../src/backend/webgpu/ops/matmul-schedule.js";
import { BackendError } from "../../src/errors.js";
import { referenceBackend } from "../helpers/backends.js";
import { checkOp } from "../helpers/op-case.js";
import { type MatmulCase, matmulCase } from "./matmul-case.js";

const plain = await createWebGpuBackend();
const missing = missingTensorCoreFeatures(plain.info().features);
const limits = plain.info().limits as unknown as Parameters<typeof scheduleMatmul>[4];
let tc: Backend | undefined;
after(() => {
  setMatmulTileOverride(undefined);
  tc?.dispose();
  plain.dispose();
});

function fake(shape: number[], offset = 0): Tensor {
  const size = shape.reduce((x, y) => x * y, 1) + offset;
  return { buffer: { id: 1, size, dtype: "f32", label: "fake" }, offset, shape, dtype: "f32" };
}

test("tensor cores take large shapes only, with vector loads when aligned", () => {
  const sched = (m: number, n: number, k: number, on: boolean, aOff = 0) =>
    scheduleMatmul(fake([m, n]), fake([m, k], aOff), fake([k, n]), {}, limits, on);
  const big = sched(4096, 4096, 512, true);
  assert.equal(big.gemms.length, 1);
  assert.match(big.gemms[0]!.key, /^matmul_subgroup:000:44:f32$/);
  assert.equal(big.tile, SUBGROUP_TILE);
  assert.deepEqual(big.gemms[0]!.workgroups, [16, 32, 1]);
  // misaligned a: scalar loads of a, vector loads of b; unaligned M: bounds checks
  assert.match(sched(4100, 4096, 512, true, 3).gemms[0]!.key, /^matmul_subgroup:001:14:f32$/);
  const F32 = /^matmul_(tiled|unrolled):/;
  assert.match(sched(4096, 4096, 512, false).gemms[0]!.key, F32, "off: f32 kernel");
  const exact = scheduleMatmul(
    fake([4096, 4096]),
    fake([4096, 512]),
    fake([512, 4096]),
    { exact: true },
    limits,
    true,
  );
  assert.match(exact.gemms[0]!.key, F32, "exact (backward pass): f32 kernel");
  assert.match(sched(16384, 64, 512, true).gemms[0]!.key, F32, "N = 64 wastes a 256-wide block");
  assert.match(sched(64, 64, 64, true).gemms[0]!.key, F32, "small: f32 kernel");
});

test("tensor cores on a device without them: a clear error", {
  skip: missing.length === 0 && "this device has them",
}, async () => {
  await assert.rejects(
    createWebGpuBackend({ tensorCores: true }),
    (e: unknown) =>
      e instanceof BackendError &&
      /shader-f16|subgroup-matrix/.test(e.message) &&
      /--tensor-cores/.test(e.message),
  );
});

test("tensor cores are refused on the cpu backend, naming the flag", async () => {
  const named = (e: unknown) => e instanceof BackendError && /--tensor-cores/.test(e.message);
  await assert.rejects(createBackend("cpu", { tensorCores: true }), named);
  await assert.rejects(backendFromFlag("cpu", { tensorCores: true }), named);
});

/** f16 operands: ~2^-11 relative per product; the bound is max-abs error over max |reference|. */
const TOL_F16_OPERANDS = 3e-3;

const cases: (MatmulCase & { guard: number })[] = [
  { guard: 4, batch: 1, m: 128, k: 64, n: 256, opts: {} },
  { guard: 4, batch: 1, m: 256, k: 96, n: 512, opts: { alpha: 0.5, accumulate: true } },
  { guard: 4, batch: 2, m: 128, k: 96, n: 256, opts: { transA: true, transB: true } },
  { guard: 4, batch: 1, m: 131, k: 68, n: 252, opts: {} },
  { guard: 4, batch: 2, m: 132, k: 40, n: 260, opts: { transA: true, transB: true, alpha: -1.5 } },
  { guard: 3, batch: 1, m: 129, k: 70, n: 250, opts: { transB: true } },
  { guard: 3, batch: 3, m: 37, k: 45, n: 33, opts: { transA: true, accumulate: true }, broadcast: true },
  { guard: 4, batch: 2, m: 128, k: 64, n: 256, opts: {}, bDtype: "f16", broadcast: true },
  { guard: 4, batch: 1, m: 140, k: 36, n: 264, opts: { transB: true }, bDtype: "bf16" },
  { guard: 3, batch: 1, m: 128, k: 64, n: 256, opts: {}, bDtype: "f16" },
];

test("webgpu tensor-core matmul vs f64", {
  skip: missing.length > 0 && `this device lacks ${missing.join(", ")}`,
}, async () => {
  tc = await createWebGpuBackend({ tensorCores: true });
  const ref = await referenceBackend();
  setMatmulTileOverride(SUBGROUP_TILE); // every case on the kernel, small ones included
  let seed = 101;
  for (const c of cases) {
    const oc = matmulCase(c, seed++);
    oc.guard = c.guard;
    for (const o of Object.values(oc.outputs)) o.tol = TOL_F16_OPERANDS;
    await checkOp(tc, ref, oc);
  }
});
