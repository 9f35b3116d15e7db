// The cpu backend's saved cross-entropy lse (forward -> backward in one pass) is never used stale:
// after the logits change by write, fill, an op writing them (matmul, add, scale), an in-place
// backward, or losses written into the logits' own buffer, and for another view of the same
// buffer, the backward must still match the f64 reference on the logits it is given.
import { test } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { createCpuBackend } from "../../src/backend/cpu/index.js";
import { type Tensor, view } from "../../src/backend/tensor.js";
import { assertClose, TOL } from "../helpers/compare.js";
import { makeRng, randomInts, uniform } from "../helpers/random.js";

const [N, V] = [9, 41];

/** dLogits of the reference for `logits` values. */
async function refBackward(ref: Backend, logits: Float32Array, targets: Int32Array): Promise<Float32Array> {
  const l = view(ref.createBuffer(N * V, "f32"), [N, V]);
  const t = view(ref.createBuffer(N, "i32"), [N]);
  const d = view(ref.createBuffer(N * V, "f32"), [N, V]);
  ref.write(l, logits);
  ref.write(t, targets);
  ref.crossEntropyBackward(d, l, t, 0.5);
  const out = Float32Array.from(await ref.read(d));
  for (const x of [l, t, d]) ref.destroyBuffer(x.buffer);
  return out;
}

interface Setup {
  be: Backend;
  buf: Tensor; // (2N, V): two logits views
  logits: Tensor; // rows [0, N)
  other: Tensor; // rows [N, 2N)
  targets: Tensor;
  losses: Tensor;
  dLogits: Tensor;
}

const cases: [string, (s: Setup, fresh: Float32Array) => Promise<Tensor> | Tensor][] = [
  [
    "write",
    (s, fresh) => {
      s.be.write(s.logits, fresh);
      return s.logits;
    },
  ],
  [
    "matmul into the logits",
    (s, fresh) => {
      // logits = I (N, N) @ fresh (N, V), through the matmul op
      const eye = view(s.be.createBuffer(N * N, "f32"), [N, N]);
      s.be.write(
        eye,
        Float32Array.from({ length: N * N }, (_, i) => (i % (N + 1) === 0 ? 1 : 0)),
      );
      s.be.write(s.other, fresh);
      s.be.matmul(s.logits, eye, s.other);
      return s.logits;
    },
  ],
  [
    "scale of the logits in place",
    (s, fresh) => {
      s.be.write(
        s.other,
        fresh.map((x) => x / 2),
      );
      s.be.scale(s.logits, s.other, 2);
      return s.logits;
    },
  ],
  [
    "another view of the same buffer",
    (s, fresh) => {
      s.be.write(s.other, fresh);
      return s.other;
    },
  ],
  [
    "losses written into the logits' buffer",
    async (s, fresh) => {
      // a forward whose losses overwrite logits row 0: the lse saved for those logits is stale
      s.be.write(s.other, fresh);
      const inside = view(s.buf.buffer, [N], N * V);
      s.be.crossEntropy(inside, s.other, s.targets);
      const now = Float32Array.from(await s.be.read(s.other));
      fresh.set(now);
      return s.other;
    },
  ],
  [
    "an in-place backward",
    async (s, fresh) => {
      s.be.crossEntropyBackward(s.logits, s.logits, s.targets, 1);
      fresh.set(Float32Array.from(await s.be.read(s.logits)));
      return s.logits;
    },
  ],
];

for (const [name, change] of cases) {
  test(`cpu crossEntropy: a backward after ${name} uses the current logits`, async () => {
    const be = await createCpuBackend({ precision: "f32" });
    const ref = await createCpuBackend({ precision: "f64" });
    try {
      const rng = makeRng(77);
      const buf = view(be.createBuffer(2 * N * V, "f32"), [2 * N, V]);
      const s: Setup = {
        be,
        buf,
        logits: view(buf.buffer, [N, V], 0),
        other: view(buf.buffer, [N, V], N * V),
        targets: view(be.createBuffer(N, "i32"), [N]),
        losses: view(be.createBuffer(N, "f32"), [N]),
        dLogits: view(be.createBuffer(N * V, "f32"), [N, V]),
      };
      const targets = randomInts(rng, N, 0, V);
      targets[3] = -1;
      be.write(s.targets, targets);
      be.write(s.logits, uniform(rng, N * V, 5));
      be.crossEntropy(s.losses, s.logits, s.targets); // saves lse for s.logits
      const fresh = uniform(rng, N * V, 9);
      const used = await change(s, fresh);
      be.crossEntropyBackward(s.dLogits, used, s.targets, 0.5);
      const got = Float32Array.from(await be.read(s.dLogits));
      assertClose(`backward after ${name}`, got, await refBackward(ref, fresh, targets), TOL.reduce);
    } finally {
      be.dispose();
      ref.dispose();
    }
  });
}
