// WebGPU embeddingBackward (counting sort by id + per-row ordered gather) against the f64 CPU
// oracle on shapes the small op tests miss: hot ids repeated hundreds of times, V larger than N,
// N spanning several 512-token sort blocks and not a multiple of 256, C past one 64-column tile;
// the vec4 path with ids outside [0, V) skipped and a 600-token run (host f64 sum); and
// bit-identical results across repeated runs.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { view } from "../../src/backend/tensor.js";
import { createWebGpuBackend } from "../../src/backend/webgpu/index.js";
import { referenceBackend } from "../helpers/backends.js";
import { assertClose, TOL } from "../helpers/compare.js";
import { checkOp, type OpCase } from "../helpers/op-case.js";
import { makeRng, type Rng, uniform } from "../helpers/random.js";

const ref = await referenceBackend(); // at top level: its `after` disposal then ends the file
let be: Backend;
before(async () => {
  be = await createWebGpuBackend();
});
after(() => be?.dispose());

/** n ids: ~half from a few hot ids, the rest uniform over [0, v). */
function skewedIds(rng: Rng, n: number, v: number): Int32Array {
  const hot = [3, v - 1, 17, Math.floor(v / 2)];
  return Int32Array.from({ length: n }, () =>
    rng() < 0.5 ? hot[Math.floor(rng() * hot.length)]! : Math.floor(rng() * v),
  );
}

/** dOut values spanning magnitudes 1e-3 .. 1e3, so a changed summation order changes bits. */
function spread(rng: Rng, n: number): Float32Array {
  return Float32Array.from(uniform(rng, n), (x) => x * 10 ** Math.floor(rng() * 7 - 3));
}

function backwardCase(v: number, c: number, ids: Int32Array, seed: number): OpCase {
  const rng = makeRng(seed);
  const n = ids.length;
  return {
    name: `embeddingBackward V=${v} C=${c} N=${n}`,
    inputs: {
      ids: { shape: [n], dtype: "i32", data: ids },
      dOut: { shape: [n, c], data: spread(rng, n * c) },
    },
    outputs: { dTable: { shape: [v, c], data: uniform(rng, v * c), tol: TOL.reduce } },
    run: (b, t) => b.embeddingBackward(t.dTable!, t.dOut!, t.ids!),
  };
}

test("embeddingBackward matches the f64 reference: repeats, V > N, several sort blocks", async () => {
  const rng = makeRng(7);
  await checkOp(be, ref, backwardCase(5000, 70, skewedIds(rng, 2500, 5000), 1));
  await checkOp(be, ref, backwardCase(300, 9, skewedIds(rng, 1031, 300), 2));
  await checkOp(be, ref, backwardCase(40, 64, new Int32Array(2100).fill(39), 3)); // one id, 2100 times
  await checkOp(be, ref, backwardCase(9, 3, Int32Array.from([8, 0, 8]), 4));
});

test("embeddingBackward, vec4 path (aligned, C % 4 == 0): skips ids outside [0, V), long runs", async () => {
  const [v, c] = [6, 8];
  const rng = makeRng(3);
  // 700 tokens: a 600-token run of id 2 (several 256-entry chunks), some invalid ids
  const ids = Int32Array.from({ length: 700 }, (_, i) =>
    i % 7 === 3 ? [-1, 6, 100, 5][i % 4]! : i < 600 ? 2 : i % 6,
  );
  const n = ids.length;
  const dOut = spread(rng, n * c);
  const want = new Float64Array(v * c);
  ids.forEach((id, i) => {
    if (id < 0 || id >= v) return;
    for (let j = 0; j < c; j++) want[id * c + j]! += dOut[i * c + j]!;
  });
  const t = (shape: number[], dtype: "f32" | "i32" = "f32") =>
    view(
      be.createBuffer(
        shape.reduce((a, b) => a * b, 1),
        dtype,
      ),
      shape,
    );
  const [dT, dO, idT] = [t([v, c]), t([n, c]), t([n], "i32")];
  be.fill(dT, 0);
  be.write(dO, dOut);
  be.write(idT, ids);
  be.embeddingBackward(dT, dO, idT);
  assertClose("dTable", (await be.read(dT)) as Float32Array, want, TOL.reduce);
});

test("embeddingBackward is bit-identical across runs", async () => {
  const rng = makeRng(11);
  const [v, c, n] = [700, 68, 3000]; // vec4 path
  const ids = skewedIds(rng, n, v);
  const dOut = spread(rng, n * c);
  const init = uniform(rng, v * c);
  const dT = view(be.createBuffer(v * c, "f32"), [v, c]);
  const dO = view(be.createBuffer(n * c, "f32"), [n, c]);
  const idT = view(be.createBuffer(n, "i32"), [n]);
  be.write(dO, dOut);
  be.write(idT, ids);
  const runs: Uint32Array[] = [];
  for (let r = 0; r < 3; r++) {
    be.write(dT, init);
    be.embeddingBackward(dT, dO, idT);
    const got = (await be.read(dT)) as Float32Array;
    runs.push(new Uint32Array(got.buffer, got.byteOffset, got.length));
  }
  assert.deepEqual(runs[1], runs[0]);
  assert.deepEqual(runs[2], runs[0]);
});
