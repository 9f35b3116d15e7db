// Runs one op on a test backend and on the f64 reference from the same inputs, and compares every
// output. Every tensor sits at a nonzero offset inside a larger buffer; outputs (and the guard
// elements around them) are poisoned with NaN first, so unwritten elements and writes out of
// bounds both fail. Outputs with `init` start from those values instead (accumulating ops).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { type DType, numel, type Tensor, view } from "../../src/backend/tensor.js";
import { assertClose } from "./compare.js";

export interface TensorSpec {
  shape: readonly number[];
  dtype?: DType;
  /** Input values (floats for float dtypes, Int32Array for i32). */
  data?: Float32Array | Float64Array | Int32Array;
}

export interface OutputSpec extends TensorSpec {
  /** Relative error bound against the reference. */
  tol: number;
}

export interface OpCase {
  name: string;
  inputs: Record<string, TensorSpec>;
  /** Outputs; `data` here is the initial content (default: NaN poison). */
  outputs: Record<string, OutputSpec>;
  run(be: Backend, t: Record<string, Tensor>): void;
  /** Elements before and after every tensor (default 3: offsets not a multiple of 2 or 4). */
  guard?: number;
}

const GUARD = 3;

/** Places a tensor at offset `guard` inside a buffer of numel + 2 * guard elements. */
export function placeTensor(be: Backend, spec: TensorSpec, label: string, guard = GUARD): Tensor {
  const n = numel(spec.shape);
  const dtype = spec.dtype ?? "f32";
  const buf = be.createBuffer(n + 2 * guard, dtype, label);
  const whole = view(buf, [n + 2 * guard]);
  if (dtype === "i32") be.fill(whole, -7);
  else be.fill(whole, Number.NaN);
  const t = view(buf, spec.shape, guard);
  if (spec.data) be.write(t, spec.data);
  return t;
}

async function runOn(
  be: Backend,
  c: OpCase,
): Promise<Record<string, Float32Array | Float64Array | Int32Array>> {
  const t: Record<string, Tensor> = {};
  const guard = c.guard ?? GUARD;
  for (const [k, s] of Object.entries({ ...c.inputs, ...c.outputs })) t[k] = placeTensor(be, s, k, guard);
  c.run(be, t);
  const got: Record<string, Float32Array | Float64Array | Int32Array> = {};
  for (const k of Object.keys(c.outputs)) {
    const out = t[k]!;
    const whole = await be.read(view(out.buffer, [out.buffer.size]));
    const n = numel(out.shape);
    for (const g of [...whole.subarray(0, guard), ...whole.subarray(guard + n)]) {
      assert.ok(Number.isNaN(g), `${c.name}: ${be.name} wrote outside output "${k}" (guard = ${g})`);
    }
    got[k] = whole.slice(guard, guard + n);
  }
  for (const x of Object.values(t)) be.destroyBuffer(x.buffer);
  return got;
}

/** Runs `c` on `be` and on `ref`, asserting every output within its tolerance. */
export async function checkOp(be: Backend, ref: Backend, c: OpCase): Promise<void> {
  const want = await runOn(ref, c);
  const got = await runOn(be, c);
  for (const [k, spec] of Object.entries(c.outputs)) {
    const unwritten = want[k]!.findIndex((x) => Number.isNaN(x));
    assert.equal(unwritten, -1, `${c.name}: the reference left output "${k}" element ${unwritten} unwritten`);
    assertClose(`${c.name} on ${be.name}: ${k}`, got[k]!, want[k]!, spec.tol);
  }
}

/** Registers one test per test backend that runs every case against the reference. */
export async function opTests(title: string, cases: () => OpCase[]): Promise<void> {
  const { testBackends, referenceBackend, backendLabel } = await import("./backends.js");
  const ref = await referenceBackend();
  for (const be of await testBackends()) {
    test(`${title} on ${backendLabel(be)}`, async () => {
      for (const c of cases()) await checkOp(be, ref, c);
    });
  }
}
