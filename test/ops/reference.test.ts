// Hand-computed forward (and a few backward) values, checked on the f64 oracle and on every test
// backend: so the reference itself is pinned to independent numbers, not only to other backends.
// Each expected value is derived in the comment next to it.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { type DType, type Tensor, view } from "../../src/backend/tensor.js";
import { referenceBackend, testBackends } from "../helpers/backends.js";
import { assertClose } from "../helpers/compare.js";

const all = [await referenceBackend(), ...(await testBackends())];
const TOL = 2e-6;

function tensor(be: Backend, shape: number[], data?: number[], dtype: DType = "f32"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const t = view(be.createBuffer(n, dtype), shape);
  if (data) be.write(t, dtype === "i32" ? Int32Array.from(data) : Float64Array.from(data));
  else be.fill(t, Number.NaN);
  return t;
}
const read = async (be: Backend, t: Tensor) => Array.from(await be.read(t));

for (const be of all) {
  const tag = `${be.name} ${be.info().detail.slice(0, 20)}`;

  test(`hand values: matmul, embedding, sumSquares on ${tag}`, async () => {
    const out = tensor(be, [2, 2]);
    be.matmul(out, tensor(be, [2, 2], [1, 2, 3, 4]), tensor(be, [2, 2], [5, 6, 7, 8]));
    assert.deepEqual(await read(be, out), [19, 22, 43, 50]); // [[1*5+2*7, 1*6+2*8], [3*5+4*7, 3*6+4*8]]
    const dTable = tensor(be, [3, 2], [0, 0, 0, 0, 1, 1]);
    be.embeddingBackward(dTable, tensor(be, [2, 2], [1, 2, 3, 4]), tensor(be, [2], [1, 1], "i32"));
    assert.deepEqual(await read(be, dTable), [0, 0, 4, 6, 1, 1]); // row 1 = [1+3, 2+4]; row 2 untouched
    const ss = tensor(be, [1]);
    be.sumSquares(ss, [tensor(be, [2], [1, 2]), tensor(be, [1], [3])]);
    assert.deepEqual(await read(be, ss), [14]); // 1 + 4 + 9
  });

  test(`hand values: softmax cross entropy on ${tag}`, async () => {
    // logits [0, ln 2, ln 3]: softmax = [1, 2, 3] / 6; target 2: loss = ln 6 - ln 3 = ln 2
    const logits = tensor(be, [2, 3], [0, Math.LN2, Math.log(3), 5, 5, 5]);
    const targets = tensor(be, [2], [2, -1], "i32");
    const losses = tensor(be, [2]);
    be.crossEntropy(losses, logits, targets);
    assertClose("losses", await read(be, losses), [Math.LN2, 0], TOL);
    const d = tensor(be, [2, 3]);
    be.crossEntropyBackward(d, logits, targets, 2);
    assertClose("dLogits", await read(be, d), [2 / 6, 4 / 6, 2 * (3 / 6 - 1), 0, 0, 0], TOL);
  });

  test(`hand values: rmsnorm and swiglu on ${tag}`, async () => {
    // x = [3, 4]: mean(x^2) = 12.5, rstd = 1/sqrt(12.5); weight [1, 2]
    const out = tensor(be, [1, 2]);
    const rstd = tensor(be, [1]);
    be.rmsnorm(out, rstd, tensor(be, [1, 2], [3, 4]), tensor(be, [2], [1, 2]), 0);
    const r = 1 / Math.sqrt(12.5);
    assertClose("rmsnorm out", await read(be, out), [3 * r, 8 * r], TOL);
    assertClose("rstd", await read(be, rstd), [r], TOL);
    // silu(0) = 0, silu(1) = 1 / (1 + e^-1); up = [5, 2]
    const sw = tensor(be, [1, 2]);
    be.swiglu(sw, tensor(be, [1, 4], [0, 1, 5, 2]));
    assertClose("swiglu", await read(be, sw), [0, 2 / (1 + Math.exp(-1))], TOL);
  });

  test(`hand values: rope on ${tag}`, async () => {
    // D = 4, base 100: theta_0 = 1, theta_1 = 100^(-1/2) = 0.1; pairs (x0, x2) and (x1, x3)
    const x = [1, 2, 3, 4];
    const out = tensor(be, [2, 1, 4]);
    be.rope(out, tensor(be, [2, 1, 4], [...x, ...x]), tensor(be, [2], [0, 3], "i32"), 100);
    const [c0, s0, c1, s1] = [Math.cos(3), Math.sin(3), Math.cos(0.3), Math.sin(0.3)];
    const at3 = [1 * c0 - 3 * s0, 2 * c1 - 4 * s1, 3 * c0 + 1 * s0, 4 * c1 + 2 * s1];
    assertClose("rope", await read(be, out), [...x, ...at3], TOL); // position 0 is the identity
  });

  test(`hand values: attention on ${tag}`, async () => {
    // S = 1: softmax over one key is 1, so out = v of the mapped K/V head; lse = scale * q.k
    const q = tensor(be, [1, 1, 2, 2], [1, 0, 0, 2]); // heads 0, 1 share K/V head 0 (MQA)
    const k = tensor(be, [1, 1, 1, 2], [3, 1]);
    const v = tensor(be, [1, 1, 1, 2], [7, -5]);
    const out = tensor(be, [1, 1, 2, 2]);
    const lse = tensor(be, [1, 2, 1]);
    be.attention(out, lse, q, k, v, { scale: 0.5 });
    assertClose("out", await read(be, out), [7, -5, 7, -5], TOL);
    assertClose("lse", await read(be, lse), [1.5, 1], TOL); // 0.5 * 3, 0.5 * 2
    // causal T = S = 2 with q = 0: query 0 sees key 0 only (out = v0, lse = 0); query 1 sees both
    // with equal scores: out = (v0 + v1) / 2, lse = ln 2
    const q2 = tensor(be, [1, 2, 1, 2], [0, 0, 0, 0]);
    const k2 = tensor(be, [1, 2, 1, 2], [1, 2, 3, 4]);
    const v2 = tensor(be, [1, 2, 1, 2], [2, 4, 6, 10]);
    const out2 = tensor(be, [1, 2, 1, 2]);
    const lse2 = tensor(be, [1, 1, 2]);
    be.attention(out2, lse2, q2, k2, v2, { causal: true });
    assertClose("causal out", await read(be, out2), [2, 4, 4, 7], TOL);
    assertClose("causal lse", await read(be, lse2), [0, Math.LN2], TOL);
  });

  test(`hand values: adamw on ${tag}`, async () => {
    // step 1 from m = v = 0: mhat = g, vhat = g^2, so the update is g / |g| (eps 0):
    // p = 1 - 0.1 * (0.1 * 1 + 1) = 0.89; p = -2 - 0.1 * (0.1 * -2 - 1) = -1.88
    const p = tensor(be, [2], [1, -2]);
    const m = tensor(be, [2], [0, 0]);
    const v = tensor(be, [2], [0, 0]);
    const base = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 0, weightDecay: 0.1, step: 1 };
    be.adamw(p, tensor(be, [2], [0.5, -3]), m, v, base);
    assertClose("param", await read(be, p), [0.89, -1.88], TOL);
    assertClose("m", await read(be, m), [0.05, -0.3], TOL); // (1 - 0.9) g
    // clipping: g = [3, 4] has norm 5; maxNorm 1 scales it by 0.2 -> m = 0.1 * [0.6, 0.8]
    const g = tensor(be, [2], [3, 4]);
    const ss = tensor(be, [1]);
    be.sumSquares(ss, [g]);
    const m2 = tensor(be, [2], [0, 0]);
    be.adamw(tensor(be, [2], [0, 0]), g, m2, tensor(be, [2], [0, 0]), {
      ...base,
      clip: { sumSq: ss, maxNorm: 1 },
    });
    assertClose("clipped m", await read(be, m2), [0.06, 0.08], TOL);
  });
}
