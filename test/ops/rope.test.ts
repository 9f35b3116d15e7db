// rope vs the f64 reference: (N, Hx, D) and (B, T, H, D) inputs, odd head counts, D = 24, large
// positions, in place (out aliases x), and inverse (the backward).
import { TOL } from "../helpers/compare.js";
import { type OpCase, opTests } from "../helpers/op-case.js";
import { makeRng, randomInts, uniform } from "../helpers/random.js";

function ropeCase(shape: number[], maxPos: number, base: number, seed: number): OpCase {
  const rng = makeRng(seed);
  const n = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  const size = shape.reduce((a, b) => a * b, 1);
  return {
    name: `rope [${shape}] maxPos=${maxPos} base=${base}`,
    inputs: {
      x: { shape, data: uniform(rng, size) },
      positions: { shape: [n], dtype: "i32", data: randomInts(rng, n, 0, maxPos) },
    },
    outputs: {
      out: { shape, tol: TOL.elementwise },
      back: { shape, tol: TOL.elementwise },
      inPlace: { shape, data: uniform(rng, size), tol: TOL.elementwise },
    },
    run(be, t) {
      be.rope(t.out!, t.x!, t.positions!, base);
      be.rope(t.back!, t.out!, t.positions!, base, true);
      be.rope(t.inPlace!, t.inPlace!, t.positions!, base, true);
    },
  };
}

await opTests("rope forward, inverse and in place", () => [
  ropeCase([13, 3, 24], 64, 10000, 1),
  ropeCase([2, 5, 2, 8], 16, 500000, 2),
  ropeCase([7, 1, 64], 2048, 10000, 3),
]);
