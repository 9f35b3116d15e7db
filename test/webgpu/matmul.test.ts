// WebGPU matmul kernels, one tile configuration at a time (the backend otherwise picks one by shape
// and limits), vs the f64 reference backend: odd sizes (bounds-checked variant), tile-multiple sizes
// (unchecked variant), aligned K with odd M/N (interior + edge strips), transposes, batch with
// broadcast b, alpha/accumulate, f16/bf16 b; for matmul_unrolled tiles also at 4-aligned offsets
// (its vector loads).
// Small shapes: CI runs this on llvmpipe. Speed lives in bench/gpu/matmul-bench.ts.
import { after, test } from "node:test";
import { createWebGpuBackend } from "../../src/backend/webgpu/index.js";
import {
  MATMUL_TILES,
  type MatmulTile,
  setMatmulTileOverride,
  tileFits,
} from "../../src/backend/webgpu/ops/matmul.js";
import { referenceBackend } from "../helpers/backends.js";
import { checkOp } from "../helpers/op-case.js";
import { type MatmulCase, matmulCase } from "./matmul-case.js";

const be = await createWebGpuBackend();
const ref = await referenceBackend();
after(() => {
  setMatmulTileOverride(undefined);
  be.dispose();
});

function casesFor(tile: MatmulTile): MatmulCase[] {
  const { bm, bn, bk } = tile;
  return [
    { batch: 1, m: bm, k: 2 * bk, n: bn, opts: {} }, // exact multiple: unchecked kernel
    { batch: 2, m: bm, k: 3 * bk, n: 2 * bn, opts: { transA: true, transB: true, alpha: 0.75 } },
    { batch: 1, m: bm + 3, k: 2 * bk + 5, n: bn - 7, opts: { transB: true } },
    // K aligned, M and N not: aligned interior with this tile + checked strips (auto edge tiles)
    { batch: 2, m: bm + 5, k: 3 * bk, n: 2 * bn + 3, opts: { accumulate: true, alpha: 1.5 } },
    { batch: 1, m: 2 * bm - 1, k: 2 * bk, n: bn + 33, opts: { transA: true, transB: true } },
    { batch: 3, m: 9, k: 13, n: bn + 1, opts: { transA: true }, broadcast: true },
    { batch: 1, m: 19, k: 7, n: 23, opts: { accumulate: true, alpha: -0.5 } },
    { batch: 1, m: 1, k: 37, n: 45, opts: { transB: true }, bDtype: "f16" }, // GEMV-like
    { batch: 2, m: 11, k: 17, n: 10, opts: {}, bDtype: "bf16", broadcast: true },
  ];
}

const limits = be.info().limits as unknown as Parameters<typeof tileFits>[1];
for (const tile of MATMUL_TILES) {
  const label = `${tile.bm}x${tile.bn}x${tile.bk} (${tile.tm}x${tile.tn} per thread)`;
  test(`webgpu matmul tile ${label}`, { skip: !tileFits(tile, limits) && "does not fit here" }, async () => {
    setMatmulTileOverride(tile);
    try {
      let seed = 11;
      for (const c of casesFor(tile)) await checkOp(be, ref, matmulCase(c, seed++));
      if (tile.unrolled) {
        // offsets of 4: the vector-load variants (VA / VB = 4 wherever the dimensions allow)
        for (const c of casesFor(tile)) await checkOp(be, ref, { ...matmulCase(c, seed++), guard: 4 });
      }
    } finally {
      setMatmulTileOverride(undefined);
    }
  });
}
