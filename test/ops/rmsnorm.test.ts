// rmsnorm and rmsnormBackward vs the f64 reference: odd C, dx overwrite and accumulate, dWeight
// accumulation, and (B, T, C) inputs.
import { TOL } from "../helpers/compare.js";
import { type OpCase, opTests } from "../helpers/op-case.js";
import { makeRng, uniform } from "../helpers/random.js";

function rmsnormCase(shape: number[], accumulate: boolean, seed: number): OpCase {
  const rng = makeRng(seed);
  const c = shape[shape.length - 1]!;
  const n = shape.reduce((a, b) => a * b, 1) / c;
  return {
    name: `rmsnorm [${shape}] accumulate=${accumulate}`,
    inputs: {
      x: { shape, data: uniform(rng, n * c, 3) },
      weight: { shape: [c], data: uniform(rng, c) },
      dOut: { shape, data: uniform(rng, n * c) },
    },
    outputs: {
      out: { shape, tol: TOL.reduce },
      rstd: { shape: [n], tol: TOL.reduce },
      dx: { shape, tol: TOL.reduce, ...(accumulate ? { data: uniform(rng, n * c) } : {}) },
      dWeight: { shape: [c], data: uniform(rng, c), tol: TOL.reduce },
    },
    run(be, t) {
      be.rmsnorm(t.out!, t.rstd!, t.x!, t.weight!, 1e-5);
      be.rmsnormBackward(t.dx!, t.dWeight!, t.dOut!, t.x!, t.weight!, t.rstd!, accumulate);
    },
  };
}

await opTests("rmsnorm forward + backward", () => [
  rmsnormCase([13, 37], false, 1),
  rmsnormCase([5, 24], true, 2),
  rmsnormCase([2, 3, 17], false, 3),
  rmsnormCase([1, 130], true, 4),
]);
