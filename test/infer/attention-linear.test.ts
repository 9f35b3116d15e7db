// The decode step's attention + output projection (StepKernels.attentionLinear): on webgpu up to
// 16 rows it is two dispatches, the paged partials and the GEMV that merges them as it reads them
// (paged_gemv.wgsl COMBINE, no combine pass); more rows, or more splits than the GEMV's weight
// table holds, take the three-dispatch path. Each against the f64 ropeAttention + linear: many
// splits of odd lengths, rows of different context lengths, GQA and MQA, f16 and f32 pools.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { view } from "../../src/backend/tensor.js";
import { pagedTuning } from "../../src/backend/webgpu/ops/paged.js";
import { stepKernels } from "../../src/infer/device-kernels.js";
import { referenceBackend, testBackends } from "../helpers/backends.js";
import { assertClose, TOL } from "../helpers/compare.js";
import { makeRng, uniform } from "../helpers/random.js";
import { put } from "../helpers/tensors.js";

const gpu = (await testBackends()).find((b) => b.name === "webgpu");
const oracle = await referenceBackend();
const saved = { ...pagedTuning };
after(() => Object.assign(pagedTuning, saved));

test("attention + output projection: merged splits in the GEMV equal the f64 ops", async (t) => {
  if (!gpu) return t.skip("webgpu unavailable");
  const rng = makeRng(41);
  const rt = (gpu as unknown as { rt: { stats: { dispatches: number } } }).rt;
  // [pool dtype, H, Hkv, D, rows, min keys per split, dispatches]: many splits (16-key granularity
  // over up to ~700 keys); one key per split: more splits than the weight table holds (3 passes);
  // 17 rows: above the GEMV (3 passes)
  for (const [dtype, H, Hkv, D, N, minKeys, passes] of [
    ["f16", 8, 1, 16, 1, 16, 2],
    ["f16", 8, 1, 16, 3, 16, 2],
    ["f32", 4, 2, 8, 16, 16, 2],
    ["f16", 8, 1, 16, 2, 1, 3],
    ["f32", 4, 2, 8, 17, 16, 3],
  ] as const) {
    const C = 24; // model width (output columns)
    const bs = 16;
    const lens = Int32Array.from({ length: N }, (_, i) => 1 + ((i * 211 + 37 * N) % 700));
    const mb = Math.max(...Array.from(lens, (l) => Math.ceil(l / bs)));
    const numBlocks = N * mb;
    // row i's blocks: a permutation, so rows read scattered blocks
    const tables = Int32Array.from({ length: N * mb }, (_, i) => (i * 7 + 3) % numBlocks);
    const qPre = uniform(rng, N * H * D, 2);
    const kvInit = [uniform(rng, numBlocks * bs * Hkv * D), uniform(rng, numBlocks * bs * Hkv * D)];
    const wo = uniform(rng, C * H * D);
    const x0 = uniform(rng, N * C);
    const res: Float32Array[] = [];
    for (const be of [gpu, oracle] as Backend[]) {
      const pools = kvInit.map((init) => {
        const p = view(be.createBuffer(init.length, dtype, "pool"), [numBlocks, bs, Hkv, D]);
        be.write(p, init);
        return p;
      });
      const x = put(be, [N, C], x0);
      const meta = {
        blockTables: put(be, [N, mb], tables),
        seqLens: put(be, [N], lens),
        queryStarts: put(
          be,
          [N + 1],
          Int32Array.from({ length: N + 1 }, (_, i) => i),
        ),
        causal: true,
      };
      pagedTuning.vecMinKeysPerSplit = minKeys;
      const d0 = rt.stats.dispatches;
      stepKernels(be).attentionLinear(
        {
          out: x,
          att: put(be, [N, H, D], new Float32Array(N * H * D)),
          qPre: put(be, [N, H, D], qPre),
          kPool: pools[0]!,
          vPool: pools[1]!,
          positions: put(
            be,
            [N],
            Int32Array.from(lens, (l) => l - 1),
          ),
          ropeBase: 100,
          q: put(be, [N, H, D], new Float32Array(N * H * D)),
          w: put(be, [C, H * D], wo),
        },
        meta,
      );
      if (be === gpu) assert.equal(rt.stats.dispatches - d0, passes, `${dtype} N${N}: dispatches`);
      pagedTuning.vecMinKeysPerSplit = saved.vecMinKeysPerSplit;
      res.push((await be.read(x)) as Float32Array);
    }
    const tol = dtype === "f16" ? TOL.f16 : TOL.attention;
    assertClose(`${dtype} H${H}/${Hkv} N${N} min keys ${minKeys}`, res[0]!, res[1]!, tol);
  }
});
