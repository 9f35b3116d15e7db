// cpu rope through its cos/sin tables (built for the positions in use and grown as larger ones
// arrive): decode-like calls one position at a time, a jump to a far position, then small ones
// again, and negative positions (reference path), all against the f64 backend.
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { createCpuBackend } from "../../src/backend/cpu/index.js";
import { view } from "../../src/backend/tensor.js";
import { assertClose, TOL } from "../helpers/compare.js";
import { makeRng, uniform } from "../helpers/random.js";

async function rope(be: Backend, x: Float32Array, positions: Int32Array, heads: number, d: number) {
  const xt = view(be.createBuffer(x.length, "f32"), [positions.length, heads, d]);
  const pt = view(be.createBuffer(positions.length, "i32"), [positions.length]);
  be.write(xt, x);
  be.write(pt, positions);
  be.rope(xt, xt, pt, 10000, false);
  const out = Float32Array.from(await be.read(xt));
  be.destroyBuffer(xt.buffer);
  be.destroyBuffer(pt.buffer);
  return out;
}

test("cpu rope: growing, far, small again and negative positions match the f64 backend", async () => {
  const be = await createCpuBackend({ precision: "f32" });
  const ref = await createCpuBackend({ precision: "f64" });
  try {
    const rng = makeRng(5);
    const [heads, d] = [3, 18];
    const calls: number[][] = [];
    for (let p = 0; p < 150; p++) calls.push([p]);
    calls.push([7, 5000, 3], [1, 2], [-4, 9]);
    for (const pos of calls) {
      const x = uniform(rng, pos.length * heads * d);
      const positions = Int32Array.from(pos);
      const got = await rope(be, x, positions, heads, d);
      assertClose(`rope at [${pos}]`, got, await rope(ref, x, positions, heads, d), TOL.elementwise);
    }
  } finally {
    be.dispose();
    ref.dispose();
  }
});
