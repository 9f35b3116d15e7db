// swiglu and swigluBackward vs the f64 reference, with odd F and (B, T, 2F) inputs.
import { TOL } from "../helpers/compare.js";
import { type OpCase, opTests } from "../helpers/op-case.js";
import { makeRng, uniform } from "../helpers/random.js";

function swigluCase(lead: number[], f: number, seed: number): OpCase {
  const rng = makeRng(seed);
  const n = lead.reduce((a, b) => a * b, 1);
  return {
    name: `swiglu [${lead}] F=${f}`,
    inputs: {
      gu: { shape: [...lead, 2 * f], data: uniform(rng, n * 2 * f, 4) },
      dOut: { shape: [...lead, f], data: uniform(rng, n * f) },
    },
    outputs: {
      out: { shape: [...lead, f], tol: TOL.elementwise },
      dGu: { shape: [...lead, 2 * f], tol: TOL.elementwise },
    },
    run(be, t) {
      be.swiglu(t.out!, t.gu!);
      be.swigluBackward(t.dGu!, t.dOut!, t.gu!);
    },
  };
}

await opTests("swiglu forward + backward", () => [swigluCase([13], 37, 1), swigluCase([2, 3], 8, 2)]);
