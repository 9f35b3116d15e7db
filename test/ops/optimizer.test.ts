// sumSquares and adamw vs the f64 reference: several tensors of odd sizes, AdamW with and without
// global-norm clipping (both the clipping and the non-clipping side), gradScale, several steps.
import { TOL } from "../helpers/compare.js";
import { type OpCase, opTests } from "../helpers/op-case.js";
import { makeRng, uniform } from "../helpers/random.js";

const sumSquaresCase: OpCase = (() => {
  const rng = makeRng(1);
  return {
    name: "sumSquares of 3 tensors",
    inputs: {
      a: { shape: [37], data: uniform(rng, 37) },
      b: { shape: [5, 13], data: uniform(rng, 65, 3) },
      c: { shape: [1], data: uniform(rng, 1) },
    },
    outputs: { out: { shape: [1], tol: TOL.reduce } },
    run: (be, t) => be.sumSquares(t.out!, [t.a!, t.b!, t.c!]),
  };
})();

function adamwCase(maxNorm: number | undefined, seed: number): OpCase {
  const rng = makeRng(seed);
  const n = 101;
  const g = uniform(rng, n);
  return {
    name: `adamw maxNorm=${maxNorm}`,
    inputs: { grad: { shape: [n], data: g } },
    outputs: {
      param: { shape: [n], data: uniform(rng, n), tol: TOL.elementwise },
      m: { shape: [n], data: uniform(rng, n, 0.1), tol: TOL.elementwise },
      v: { shape: [n], data: uniform(rng, n, 0.1).map(Math.abs), tol: TOL.elementwise },
      sumSq: { shape: [1], tol: TOL.reduce },
    },
    run(be, t) {
      be.sumSquares(t.sumSq!, [t.grad!]);
      for (let step = 3; step <= 5; step++) {
        be.adamw(t.param!, t.grad!, t.m!, t.v!, {
          lr: 1e-2,
          beta1: 0.9,
          beta2: 0.95,
          eps: 1e-8,
          weightDecay: 0.1,
          step,
          gradScale: 0.5,
          ...(maxNorm === undefined ? {} : { clip: { sumSq: t.sumSq!, maxNorm } }),
        });
      }
    },
  };
}

// |grad| is about sqrt(101/3) = 5.8: maxNorm 1 clips, maxNorm 100 does not.
await opTests("sumSquares and adamw", () => [
  sumSquaresCase,
  adamwCase(undefined, 2),
  adamwCase(1, 3),
  adamwCase(100, 4),
]);
