// Gradient checks by central finite differences on the f64 backend: loss = sum over outputs of
// sum(out * R) with random R; the backward op's result (minus any initial value it accumulated
// onto) must match (loss(x + h) - loss(x - h)) / 2h for every element of every checked input.
import type { Backend } from "../../src/backend/backend.js";
import { type DType, numel, type Tensor, view } from "../../src/backend/tensor.js";
import { assertClose } from "./compare.js";
import { makeRng, uniform } from "./random.js";

export interface GradCase {
  name: string;
  /** Forward inputs (i32 ones are never differentiated). */
  inputs: Record<string, { shape: readonly number[]; dtype?: DType; data: Float32Array | Int32Array }>;
  /** Forward outputs that enter the loss. Their gradients are tensors named "d" + name. */
  outputs: Record<string, readonly number[]>;
  /** Saved forward tensors that are not in the loss (rstd, lse). */
  saved?: Record<string, readonly number[]>;
  /** Inputs to check; their gradients are tensors named "d" + name. */
  wrt: string[];
  /** Gradients the backward accumulates into (+=): they start from random values. */
  accumulates?: string[];
  forward(be: Backend, t: Record<string, Tensor>): void;
  backward(be: Backend, t: Record<string, Tensor>): void;
  /** Loss weights R: "random" (default) or one constant for every element. */
  weights?: "random" | number;
}

const H = 1e-5;

function make(be: Backend, shape: readonly number[], dtype: DType, label: string): Tensor {
  return view(be.createBuffer(numel(shape), dtype, label), shape);
}

export async function checkGradients(be: Backend, c: GradCase, tol = 1e-6): Promise<void> {
  const rng = makeRng(4242);
  const t: Record<string, Tensor> = {};
  for (const [k, s] of Object.entries(c.inputs)) {
    t[k] = make(be, s.shape, s.dtype ?? "f32", k);
    be.write(t[k], s.data);
  }
  const weights: Record<string, Float32Array> = {};
  for (const [k, shape] of Object.entries(c.outputs)) {
    t[k] = make(be, shape, "f32", k);
    t[`d${k}`] = make(be, shape, "f32", `d${k}`);
    const n = numel(shape);
    weights[k] =
      c.weights === undefined || c.weights === "random"
        ? uniform(rng, n)
        : new Float32Array(n).fill(c.weights);
    be.write(t[`d${k}`]!, weights[k]);
  }
  for (const [k, shape] of Object.entries(c.saved ?? {})) t[k] = make(be, shape, "f32", k);
  const init: Record<string, Float32Array> = {};
  for (const k of c.wrt) {
    const g = `d${k}`;
    t[g] = make(be, c.inputs[k]!.shape, "f32", g);
    init[g] = c.accumulates?.includes(g)
      ? uniform(rng, numel(c.inputs[k]!.shape))
      : new Float32Array(numel(t[g].shape)).fill(Number.NaN);
    be.write(t[g], init[g]);
  }
  for (const extra of c.accumulates ?? []) {
    if (!t[extra]) throw new Error(`accumulated gradient ${extra} is not a checked input's gradient`);
  }

  const loss = async (): Promise<number> => {
    c.forward(be, t);
    let s = 0;
    for (const k of Object.keys(c.outputs)) {
      const out = await be.read(t[k]!);
      const w = weights[k]!;
      for (let i = 0; i < out.length; i++) s += out[i]! * w[i]!;
    }
    return s;
  };

  await loss();
  c.backward(be, t);
  for (const k of c.wrt) {
    const g = `d${k}`;
    const got = Float64Array.from(await be.read(t[g]!));
    if (c.accumulates?.includes(g)) for (let i = 0; i < got.length; i++) got[i]! -= init[g]![i]!;
    const x = Float64Array.from(await be.read(t[k]!));
    const fd = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i]!;
      x[i] = x0 + H;
      be.write(t[k]!, x);
      const lp = await loss();
      x[i] = x0 - H;
      be.write(t[k]!, x);
      const lm = await loss();
      x[i] = x0;
      be.write(t[k]!, x);
      fd[i] = (lp - lm) / (2 * H);
    }
    assertClose(`${c.name}: d${k} vs finite differences`, got, fd, tol);
  }
  for (const x of Object.values(t)) be.destroyBuffer(x.buffer);
}
