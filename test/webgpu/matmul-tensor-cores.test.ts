// The f16 tensor-core matmul (kernels/matmul_subgroup.wgsl) vs the f64 reference, on devices with
// shader-f16 and subgroup matrices (an H100 through Dawn/Vulkan; skipped on llvmpipe, which has
// neither). Cases cover the kernel's variants: vector loads (4-aligned offsets and contiguous
// dimensions) and scalar loads (offsets of 3), the unchecked 128 x 256 x 32 multiple with its direct
// store, bounds-checked edges, transposes, batches with broadcast b, alpha/accumulate through the
// staging epilogue, f16/bf16 b. Operands are rounded to f16, hence the looser bound.
import { after, test } from "node:test";
import { createWebGpuBackend } from "../../src/backend/webgpu/index.js";
import {
  SUBGROUP_TILE,
  setMatmulTileOverride,
  setTensorCoreMatmul,
  TENSOR_CORE_FEATURES,
} from "../../src/backend/webgpu/ops/matmul.js";
import { referenceBackend } from "../helpers/backends.js";
import { checkOp } from "../helpers/op-case.js";
import { type MatmulCase, matmulCase } from "./matmul-case.js";

const be = await createWebGpuBackend();
const ref = await referenceBackend();
const features = be.info().features;
const missing = TENSOR_CORE_FEATURES.filter((f) => !features.includes(f));
after(() => {
  setMatmulTileOverride(undefined);
  setTensorCoreMatmul(false, []);
  be.dispose();
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
  setTensorCoreMatmul(true, features);
  setMatmulTileOverride(SUBGROUP_TILE);
  let seed = 101;
  for (const c of cases) {
    const oc = matmulCase(c, seed++);
    oc.guard = c.guard;
    for (const o of Object.values(oc.outputs)) o.tol = TOL_F16_OPERANDS;
    await checkOp(be, ref, oc);
  }
});
