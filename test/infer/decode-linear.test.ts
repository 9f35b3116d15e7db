// The decode-path linear layers of the engine step (infer/device-kernels.ts stepKernels over the
// webgpu DecodeKernels): the GEMV up to 16 rows (both column widths, K over several rounds of
// loads), the tiled kernel at 17..256 rows (blocks of 32 and 64 columns, and 16 where the adapter
// fits them; K of several chunks per k-group), rmsnorm / SwiGLU fused before the product, the
// fused q/k/v projection, wide linears leaving the tile above tileMaxRowsWide rows, and the
// plain-op fallbacks (M > 256, unaligned views), each against the f64 reference. WebGPU only (the
// cpu backend has no DecodeKernels).
import assert from "node:assert/strict";
import { test } from "node:test";
import { view } from "../../src/backend/tensor.js";
import { decodeTuning, tileWorkgroupBytes } from "../../src/backend/webgpu/ops/decode-linear.js";
import { stepKernels } from "../../src/infer/device-kernels.js";
import { referenceBackend, testBackends } from "../helpers/backends.js";
import { assertClose, TOL } from "../helpers/compare.js";
import { makeRng, uniform } from "../helpers/random.js";
import { put } from "../helpers/tensors.js";

const gpu = (await testBackends()).find((b) => b.name === "webgpu");
const oracle = await referenceBackend();
/** The adapter fits the 16-column tile (a GPU; llvmpipe's 32 KiB of workgroup memory does not). */
const narrowTiles =
  gpu !== undefined && tileWorkgroupBytes(16) <= (gpu.info().limits.maxComputeWorkgroupStorageSize ?? 16384);

test("decode linear: out (+)= x @ w^T equals the f64 matmul (webgpu kernel and its fallbacks)", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const rng = makeRng(11);
  // [M, K, N, x offset]: aligned (GEMV up to 16 rows, K 1376: several rounds of its loads; 40 and
  // 100: the tiled kernel, a K that leaves chunks empty and partial, a K of 5 chunks per k-group),
  // M > 256 and an odd offset (matmul fallback)
  for (const [M, K, N, off] of [
    [1, 16, 5, 0],
    [3, 20, 33, 0],
    [6, 64, 17, 4],
    [3, 1376, 9, 0],
    [20, 12, 13, 0],
    [40, 8, 9, 0],
    [100, 36, 21, 0],
    [40, 520, 19, 0],
    [257, 8, 5, 0],
    [2, 12, 7, 1],
  ] as const) {
    const xs = uniform(rng, M * K);
    const ws = uniform(rng, N * K);
    const init = uniform(rng, M * N);
    for (const accumulate of [false, true]) {
      const got: (Float32Array | Float64Array)[] = [];
      const want = put(oracle, [M, N], init);
      stepKernels(oracle).linear(want, put(oracle, [M, K], xs, off), put(oracle, [N, K], ws), accumulate);
      // both column widths of the GEMV (4: 64 lanes per column; 16: 16 lanes); above 16 rows the
      // tiled kernel (32 and 64 columns per block, 16 where the adapter has the workgroup memory),
      // above 256 the plain matmul
      const widths: [4 | 16, 16 | 32 | 64][] = [
        [4, 32],
        [16, 64],
      ];
      if (narrowTiles) widths.push([4, 16]);
      for (const [cols, tileCols] of widths) {
        decodeTuning.gemvCols = cols;
        decodeTuning.tileCols = tileCols;
        const out = put(gpu, [M, N], init);
        stepKernels(gpu).linear(out, put(gpu, [M, K], xs, off), put(gpu, [N, K], ws), accumulate);
        got.push((await gpu.read(out)) as Float32Array);
      }
      decodeTuning.gemvCols = "auto";
      decodeTuning.tileCols = "auto";
      const w = (await oracle.read(want)) as Float64Array;
      for (const [i, [cols]] of widths.entries()) {
        assertClose(
          `M${M} K${K} N${N} acc=${accumulate} cols=${cols} tile ${widths[i]![1]}`,
          got[i]!,
          w,
          TOL.reduce,
        );
      }
    }
  }
});

test("fused rmsnorm + linear and swiglu + linear equal the unfused f64 ops (webgpu kernel, fallbacks)", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const rng = makeRng(12);
  // [M, K, N, x offset]: the GEMV (K 1100: several rounds of its loads), the tiled kernel (40 and
  // 70 rows), then M > 256 and an odd offset (unfused fallbacks)
  for (const [M, K, N, off] of [
    [1, 64, 9, 0],
    [5, 24, 40, 0],
    [2, 1100, 7, 0],
    [40, 8, 6, 0],
    [70, 24, 33, 0],
    [35, 264, 9, 0],
    [257, 8, 6, 0],
    [2, 12, 7, 1],
  ] as const) {
    const xs = uniform(rng, M * 2 * K, 2);
    const ws = uniform(rng, N * K);
    const gs = uniform(rng, K);
    const init = uniform(rng, M * N);
    const got: (Float32Array | Float64Array)[][] = [];
    // the tiled kernel with 64-column blocks for odd cases, 32 or (where it fits) 16 for even ones
    decodeTuning.tileCols = M % 2 === 1 ? 64 : M % 4 === 0 && narrowTiles ? 16 : 32;
    for (const be of [gpu, oracle]) {
      const k = stepKernels(be);
      const s = { xs: put(be, [M, K], new Float32Array(M * K)), rstd: put(be, [M], new Float32Array(M)) };
      const a = put(be, [M, N], init);
      k.normLinear(
        {
          out: a,
          x: put(be, [M, K], xs.subarray(0, M * K), off),
          w: put(be, [N, K], ws),
          weight: put(be, [K], gs),
          eps: 1e-5,
        },
        s,
      );
      const b = put(be, [M, N], init);
      k.swigluLinear(
        { out: b, gu: put(be, [M, 2 * K], xs, off), w: put(be, [N, K], ws), accumulate: true },
        s,
      );
      got.push([(await be.read(a)) as Float32Array, (await be.read(b)) as Float32Array]);
    }
    decodeTuning.tileCols = "auto";
    assertClose(`norm M${M} K${K} N${N}`, got[0]![0]!, got[1]![0]!, TOL.reduce);
    assertClose(`swiglu M${M} K${K} N${N}`, got[0]![1]!, got[1]![1]!, TOL.reduce);
  }
});

test("fused q/k/v projection equals three f64 rmsnorm + linears; non-adjacent weights or M > 256 fall back", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const rng = makeRng(14);
  for (const [M, K, nq, nkv] of [
    [1, 16, 24, 8],
    [3, 20, 40, 4],
    [33, 8, 8, 8],
    [257, 8, 8, 8],
  ] as const) {
    const xs = uniform(rng, M * K, 2);
    const wAll = uniform(rng, (nq + 2 * nkv) * K);
    const gAll = uniform(rng, 2 * K, 1.5);
    // weights as the model layout places them: [wq; wk; wv] then [qNorm; kvNorm], one buffer
    const flat = new Float32Array(wAll.length + gAll.length);
    flat.set(wAll);
    flat.set(gAll, wAll.length);
    const fb = put(gpu, [flat.length], flat).buffer;
    const wq = view(fb, [nq, K], 0);
    const wk = view(fb, [nkv, K], nq * K);
    const wv = view(fb, [nkv, K], (nq + nkv) * K);
    const qNorm = view(fb, [K], wAll.length);
    const kvNorm = view(fb, [K], wAll.length + K);
    const x = put(gpu, [M, K], xs);
    const out = put(gpu, [M * (nq + 2 * nkv)], new Float32Array(M * (nq + 2 * nkv)).fill(Number.NaN));
    const k = stepKernels(gpu);
    const fused = k.qkvLinear({ out, x, wq, wk, wv, qNorm, kvNorm, eps: 1e-5 });
    if (M > 256) {
      assert.equal(fused, null, "M > 256: the fused kernel declines");
      continue;
    }
    assert.ok(fused, `M${M}: fused`);
    // f64 reference: rmsnorm(x) * g @ w^T per segment
    const ref = async (w: Float32Array, g: Float32Array, n: number) => {
      const o = put(oracle, [M, n], new Float32Array(M * n));
      const s = {
        xs: put(oracle, [M, K], new Float32Array(M * K)),
        rstd: put(oracle, [M], new Float32Array(M)),
      };
      stepKernels(oracle).normLinear(
        {
          out: o,
          x: put(oracle, [M, K], xs),
          w: put(oracle, [n, K], w),
          weight: put(oracle, [K], g),
          eps: 1e-5,
        },
        s,
      );
      return (await oracle.read(o)) as Float64Array;
    };
    const segs = [
      [fused.q, wAll.subarray(0, nq * K), gAll.subarray(0, K), nq],
      [fused.k, wAll.subarray(nq * K, (nq + nkv) * K), gAll.subarray(K), nkv],
      [fused.v, wAll.subarray((nq + nkv) * K), gAll.subarray(K), nkv],
    ] as const;
    for (const [i, [got, w, g, n]] of segs.entries()) {
      assertClose(
        `qkv M${M} segment ${"qkv"[i]}`,
        (await gpu.read(got!)) as Float32Array,
        await ref(w, g, n),
        TOL.reduce,
      );
    }
    // wk not right after wq: no fusion, nothing recorded
    const apart = stepKernels(gpu).qkvLinear({ out, x, wq, wk: wv, wv: wk, qNorm, kvNorm, eps: 1e-5 });
    assert.equal(apart, null);
  }
});

test("wide linears (the LM head) leave the tile above tileMaxRowsWide rows; both paths equal f64", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const dk = gpu.decodeKernels?.();
  assert.ok(dk, "webgpu has decode kernels");
  const rng = makeRng(12);
  const saved = { ...decodeTuning };
  decodeTuning.wideCols = 16; // small stand-ins for the head's 8192 columns and the 96-row limit
  decodeTuning.tileMaxRowsWide = 24;
  try {
    // [M, N, tiled]: narrow at any M up to tileMaxRows, wide only up to tileMaxRowsWide
    for (const [M, N, tiled] of [
      [40, 15, true],
      [40, 16, false],
      [24, 33, true],
      [25, 33, false],
    ] as const) {
      const K = 12;
      const xs = uniform(rng, M * K);
      const ws = uniform(rng, N * K);
      const out = put(gpu, [M, N], new Float32Array(M * N));
      assert.equal(
        dk.linear({ out, x: put(gpu, [M, K], xs), w: put(gpu, [N, K], ws) }, {}),
        tiled,
        `M ${M} N ${N}`,
      );
      const viaStep = put(gpu, [M, N], new Float32Array(M * N));
      stepKernels(gpu).linear(viaStep, put(gpu, [M, K], xs), put(gpu, [N, K], ws));
      const want = put(oracle, [M, N], new Float32Array(M * N));
      stepKernels(oracle).linear(want, put(oracle, [M, K], xs), put(oracle, [N, K], ws));
      const w = (await oracle.read(want)) as Float64Array;
      assertClose(`M ${M} N ${N}`, (await gpu.read(viaStep)) as Float32Array, w, TOL.reduce);
    }
  } finally {
    Object.assign(decodeTuning, saved);
  }
});
