// fill, cast (f32 <-> f16 <-> bf16), add (with aliasing) and scale vs the f64 reference, and
// write/read round trips of every dtype at nonzero offsets.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DType } from "../../src/backend/tensor.js";
import { view } from "../../src/backend/tensor.js";
import { toBf16Array, toF16Array, fromBf16Array, fromF16Array } from "../../src/backend/dtype-convert.js";
import { backendLabel, testBackends } from "../helpers/backends.js";
import { TOL } from "../helpers/compare.js";
import { type OpCase, opTests } from "../helpers/op-case.js";
import { makeRng, randomInts, uniform } from "../helpers/random.js";

const FLOATS: DType[] = ["f32", "f16", "bf16"];
const tolOf = (d: DType) => (d === "f16" ? TOL.f16 : d === "bf16" ? TOL.bf16 : TOL.exact);

function castCase(from: DType, to: DType, seed: number): OpCase {
  const rng = makeRng(seed);
  return {
    name: `cast ${from} -> ${to}`,
    inputs: { src: { shape: [5, 13], dtype: from, data: uniform(rng, 65, 300) } },
    outputs: { out: { shape: [65], dtype: to, tol: tolOf(to) } },
    run: (be, t) => be.cast(t.out!, t.src!),
  };
}

await opTests("fill, cast, add, scale", () => {
  const rng = makeRng(7);
  const cases: OpCase[] = [];
  for (const from of FLOATS) for (const to of FLOATS) cases.push(castCase(from, to, cases.length + 1));
  for (const dtype of FLOATS) {
    cases.push({
      name: `fill ${dtype}`,
      inputs: {},
      outputs: { out: { shape: [3, 7], dtype, tol: tolOf(dtype) } },
      run: (be, t) => be.fill(t.out!, -1.2345),
    });
  }
  cases.push({
    name: "add and scale",
    inputs: { a: { shape: [4, 9], data: uniform(rng, 36) }, b: { shape: [4, 9], data: uniform(rng, 36) } },
    outputs: {
      sum: { shape: [4, 9], tol: TOL.exact },
      defaults: { shape: [4, 9], tol: TOL.exact },
      aliased: { shape: [4, 9], data: uniform(rng, 36), tol: TOL.exact },
      scaled: { shape: [4, 9], tol: TOL.exact },
    },
    run(be, t) {
      be.add(t.sum!, t.a!, t.b!, 0.5, -2);
      be.add(t.defaults!, t.a!, t.b!);
      be.add(t.aliased!, t.aliased!, t.b!, 1, 3); // out aliases a
      be.scale(t.scaled!, t.b!, -0.75);
      be.scale(t.scaled!, t.scaled!, 2); // in place
    },
  });
  return cases;
});

for (const be of await testBackends()) {
  test(`write/read round trips at nonzero offsets on ${backendLabel(be)}`, async () => {
    const rng = makeRng(9);
    const data = uniform(rng, 21, 100);
    for (const dtype of FLOATS) {
      const buf = be.createBuffer(40, dtype, `rt-${dtype}`);
      const t = view(buf, [3, 7], 11);
      be.write(t, data);
      const got = await be.read(t);
      const want =
        dtype === "f16"
          ? fromF16Array(toF16Array(data))
          : dtype === "bf16"
            ? fromBf16Array(toBf16Array(data))
            : data;
      assert.deepEqual(Array.from(got), Array.from(want), `${dtype} round trip`);
      be.destroyBuffer(buf);
    }
    const ints = randomInts(rng, 9, -1000, 1000);
    const ib = be.createBuffer(16, "i32");
    be.write(view(ib, [9], 5), ints);
    const gotInts = await be.read(view(ib, [9], 5));
    assert.ok(gotInts instanceof Int32Array);
    assert.deepEqual(Array.from(gotInts), Array.from(ints));
    be.destroyBuffer(ib);
  });
}

for (const be of await testBackends()) {
  test(`same-dtype cast of 16-byte aligned ranges copies exactly, guards kept, on ${backendLabel(be)}`, async () => {
    const rng = makeRng(10);
    for (const dtype of FLOATS) {
      const n = 96; // whole 16-byte words in every dtype
      const src = uniform(rng, n, 50);
      const buf = be.createBuffer(3 * n + 64, dtype, `copy-${dtype}`);
      const whole = view(buf, [3 * n + 64]);
      be.fill(whole, -7);
      const s = view(buf, [n], 16); // 64 / 32 bytes in: 16-byte aligned
      const d = view(buf, [n], 2 * n + 32);
      be.write(s, src);
      be.cast(d, s);
      const got = Array.from(await be.read(whole));
      const want = Array.from(await be.read(s));
      assert.deepEqual(got.slice(2 * n + 32, 3 * n + 32), want, `${dtype} copy`);
      assert.ok(
        got.slice(2 * n + 16, 2 * n + 32).every((x) => x === got[0]) && got[3 * n + 32] === got[0],
        `${dtype} guards before and after the copy kept their fill`,
      );
      be.destroyBuffer(buf);
    }
  });
}
