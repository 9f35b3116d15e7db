// Shared matmul test case builder for test/webgpu/matmul*.test.ts: random a, b (b optionally f16/bf16
// or broadcast over the batch), out checked against the f64 reference by test/helpers/op-case.ts.
// Not a test file itself; it holds no assertions.
import type { Backend, MatmulOptions } from "../../src/backend/backend.js";
import type { DType, Tensor } from "../../src/backend/tensor.js";
import { TOL } from "../helpers/compare.js";
import type { OpCase } from "../helpers/op-case.js";
import { makeRng, uniform } from "../helpers/random.js";

export interface MatmulCase {
  batch: number;
  m: number;
  k: number;
  n: number;
  opts: MatmulOptions;
  bDtype?: DType;
  broadcast?: boolean;
}

export function matmulCase(c: MatmulCase, seed: number): OpCase {
  const rng = makeRng(seed);
  const { m, k, n, batch } = c;
  const lead = batch > 1 ? [batch] : [];
  const bLead = c.broadcast ? [] : lead;
  const init = c.opts.accumulate ? { data: uniform(rng, batch * m * n) } : {};
  return {
    name: `matmul ${JSON.stringify(c)}`,
    inputs: {
      a: { shape: [...lead, ...(c.opts.transA ? [k, m] : [m, k])], data: uniform(rng, batch * m * k) },
      b: {
        shape: [...bLead, ...(c.opts.transB ? [n, k] : [k, n])],
        dtype: c.bDtype ?? "f32",
        data: uniform(rng, (c.broadcast ? 1 : batch) * k * n),
      },
    },
    outputs: { out: { shape: [...lead, m, n], tol: TOL.reduce, ...init } },
    run: (b: Backend, t: Record<string, Tensor>) => b.matmul(t.out!, t.a!, t.b!, c.opts),
  };
}
