// embedding and embeddingBackward vs the f64 reference: f32/f16/bf16 tables, repeated ids
// (scatter-add must sum them), accumulation into an existing dTable, and id range validation.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DType } from "../../src/backend/tensor.js";
import { ShapeError } from "../../src/errors.js";
import { backendLabel, testBackends } from "../helpers/backends.js";
import { TOL } from "../helpers/compare.js";
import { type OpCase, opTests, placeTensor } from "../helpers/op-case.js";
import { makeRng, uniform } from "../helpers/random.js";

function embeddingCase(v: number, c: number, ids: number[], dtype: DType, seed: number): OpCase {
  const rng = makeRng(seed);
  const n = ids.length;
  return {
    name: `embedding V=${v} C=${c} N=${n} ${dtype}`,
    inputs: {
      table: { shape: [v, c], dtype, data: uniform(rng, v * c) },
      ids: { shape: [n], dtype: "i32", data: Int32Array.from(ids) },
      dOut: { shape: [n, c], data: uniform(rng, n * c) },
    },
    outputs: {
      out: { shape: [n, c], tol: TOL.exact },
      dTable: { shape: [v, c], data: uniform(rng, v * c), tol: TOL.reduce },
    },
    run(be, t) {
      be.embedding(t.out!, t.table!, t.ids!);
      be.embeddingBackward(t.dTable!, t.dOut!, t.ids!);
    },
  };
}

await opTests("embedding forward + backward", () => [
  embeddingCase(37, 24, [0, 5, 36, 5, 5, 12, 0], "f32", 1),
  embeddingCase(11, 13, [3, 3, 3, 3, 10, 1], "f16", 2),
  embeddingCase(19, 8, [18, 0, 7, 7, 2, 2, 2, 9, 1, 0, 4], "bf16", 3),
]);

for (const be of await testBackends()) {
  test(`embedding rejects out-of-range ids on ${backendLabel(be)}`, () => {
    const table = placeTensor(be, { shape: [4, 3] }, "table");
    const out = placeTensor(be, { shape: [2, 3] }, "out");
    const ids = placeTensor(be, { shape: [2], dtype: "i32", data: Int32Array.from([1, 4]) }, "ids");
    if (be.name !== "cpu") return; // only the CPU reads ids on the host to check them
    assert.throws(
      () => be.embedding(out, table, ids),
      (e) => e instanceof ShapeError && /ids\[1\] = 4/.test(e.message),
    );
  });
}
