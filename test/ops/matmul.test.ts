// matmul on every test backend vs the f64 reference: odd sizes, all four transpose combinations,
// batched and broadcast b, alpha, accumulate, b stored in f16/bf16, and shape validation.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MatmulOptions } from "../../src/backend/backend.js";
import type { DType } from "../../src/backend/tensor.js";
import { ShapeError } from "../../src/errors.js";
import { backendLabel, referenceBackend, testBackends } from "../helpers/backends.js";
import { TOL } from "../helpers/compare.js";
import { checkOp, placeTensor } from "../helpers/op-case.js";
import { makeRng, uniform } from "../helpers/random.js";

const backends = await testBackends();
const ref = await referenceBackend();

interface Case {
  batch: number[];
  m: number;
  k: number;
  n: number;
  opts: MatmulOptions;
  bDtype?: DType;
  broadcast?: boolean;
}

function matmulCase(c: Case, seed: number) {
  const rng = makeRng(seed);
  const { m, k, n, batch } = c;
  const nb = batch.reduce((x, y) => x * y, 1);
  const aShape = [...batch, ...(c.opts.transA ? [k, m] : [m, k])];
  const bLead = c.broadcast ? [] : batch;
  const bShape = [...bLead, ...(c.opts.transB ? [n, k] : [k, n])];
  const outShape = [...batch, m, n];
  const nbB = c.broadcast ? 1 : nb;
  const init = c.opts.accumulate ? { data: uniform(rng, nb * m * n) } : {};
  return {
    name: `matmul ${JSON.stringify(c)}`,
    inputs: {
      a: { shape: aShape, data: uniform(rng, nb * m * k) },
      b: { shape: bShape, dtype: c.bDtype ?? "f32", data: uniform(rng, nbB * k * n) },
    },
    outputs: { out: { shape: outShape, tol: TOL.reduce, ...init } },
    run: (
      be: import("../../src/backend/backend.js").Backend,
      t: Record<string, import("../../src/backend/tensor.js").Tensor>,
    ) => be.matmul(t.out!, t.a!, t.b!, c.opts),
  };
}

const cases: Case[] = [];
for (const transA of [false, true]) {
  for (const transB of [false, true])
    cases.push({ batch: [], m: 33, k: 17, n: 65, opts: { transA, transB } });
}
cases.push(
  { batch: [3], m: 7, k: 19, n: 9, opts: {} },
  { batch: [2, 2], m: 5, k: 8, n: 6, opts: { transB: true } },
  { batch: [3], m: 9, k: 13, n: 11, opts: { transA: true }, broadcast: true },
  { batch: [2], m: 17, k: 33, n: 10, opts: { transB: true }, broadcast: true },
  { batch: [], m: 12, k: 21, n: 14, opts: { alpha: -0.37 } },
  { batch: [], m: 31, k: 9, n: 5, opts: { accumulate: true, alpha: 0.5 } },
  { batch: [2], m: 6, k: 40, n: 7, opts: { accumulate: true, transA: true, transB: true } },
  { batch: [], m: 1, k: 64, n: 50, opts: { transB: true } }, // decode-like GEMV
  { batch: [], m: 13, k: 24, n: 29, opts: { transB: true }, bDtype: "f16" },
  { batch: [], m: 13, k: 24, n: 29, opts: {}, bDtype: "bf16" },
  { batch: [2], m: 5, k: 16, n: 8, opts: { transB: true }, bDtype: "bf16", broadcast: true },
  { batch: [], m: 70, k: 130, n: 90, opts: {} }, // large enough for the threaded path
);

for (const be of backends) {
  test(`matmul on ${backendLabel(be)}`, async () => {
    let seed = 1;
    for (const c of cases) await checkOp(be, ref, matmulCase(c, seed++));
  });

  test(`matmul validation on ${backendLabel(be)}`, () => {
    const a = placeTensor(be, { shape: [4, 5] }, "a");
    const b = placeTensor(be, { shape: [6, 3] }, "b");
    const out = placeTensor(be, { shape: [4, 3] }, "out");
    assert.throws(
      () => be.matmul(out, a, b),
      (e) => e instanceof ShapeError && /K=5.*K=6/.test(e.message),
    );
    const b2 = placeTensor(be, { shape: [5, 3] }, "b2");
    const bad = placeTensor(be, { shape: [4, 4] }, "bad");
    assert.throws(
      () => be.matmul(bad, a, b2),
      (e) => e instanceof ShapeError && /matmul out/.test(e.message),
    );
    const ai = placeTensor(be, { shape: [4, 5], dtype: "i32" }, "ai");
    assert.throws(
      () => be.matmul(out, ai, b2),
      (e) => e instanceof ShapeError && /matmul a/.test(e.message),
    );
  });
}
