// crossEntropy and crossEntropyBackward vs the f64 reference: odd V, targets of -1 (ignored rows
// get loss 0 and gradient 0), large logits (the logsumexp must be stable), and a scale.
import { TOL } from "../helpers/compare.js";
import { type OpCase, opTests } from "../helpers/op-case.js";
import { makeRng, randomInts, uniform } from "../helpers/random.js";

function ceCase(n: number, v: number, logitScale: number, seed: number): OpCase {
  const rng = makeRng(seed);
  const targets = randomInts(rng, n, 0, v);
  for (let i = 0; i < n; i += 3) targets[i] = -1;
  return {
    name: `crossEntropy N=${n} V=${v} scale=${logitScale}`,
    inputs: {
      logits: { shape: [n, v], data: uniform(rng, n * v, logitScale) },
      targets: { shape: [n], dtype: "i32", data: targets },
    },
    outputs: {
      losses: { shape: [n], tol: TOL.reduce },
      dLogits: { shape: [n, v], tol: TOL.reduce },
    },
    run(be, t) {
      be.crossEntropy(t.losses!, t.logits!, t.targets!);
      be.crossEntropyBackward(t.dLogits!, t.logits!, t.targets!, 1 / n);
    },
  };
}

await opTests("crossEntropy forward + backward", () => [
  ceCase(13, 37, 3, 1),
  ceCase(4, 101, 80, 2), // logits up to 80: exp overflows f32 without the max shift
  ceCase(1, 5, 1, 3),
]);
