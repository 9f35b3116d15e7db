// Golden test against PyTorch (scripts/golden/make_fixture.py, an independent implementation of the
// spec in docs/model-math.md): a tiny GQA + CLA2 model's logits, loss, every gradient, and three
// AdamW steps (betas 0.9/0.95, wd 0.1 on matrices only, eps 1e-8, global-norm clip 1.0), on the cpu
// backend in f64 (tight) and f32. The fixture is float64 math from float32 weights.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import type { Backend } from "../../src/backend/backend.js";
import { view } from "../../src/backend/tensor.js";
import { parseModelConfig } from "../../src/model/config.js";
import { Model } from "../../src/model/model.js";
import { cpuBackend } from "./grad-helpers.js";

interface Fixture {
  config: Record<string, unknown>;
  batch: { batchSize: number; seqLen: number; ids: number[]; targets: number[] };
  adamw: {
    lr: number;
    beta1: number;
    beta2: number;
    eps: number;
    weightDecay: number;
    maxNorm: number;
    steps: number;
  };
  params: { tensors: Record<string, string> };
  logits: { data: string };
  loss: number;
  grads: { tensors: Record<string, string> };
  steps: { step: number; loss: number; gradNorm: number }[];
  finalParams: { tensors: Record<string, string> };
  finalLoss: number;
}

function loadFixture(): Fixture {
  // Works from test/model (tsx), dist/test/model (compiled) or any build dir run from the repo root.
  const rel = join("test", "fixtures", "golden-gqa-cla2.json");
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, rel))) {
    const up = dirname(dir);
    if (up === dir) {
      dir = process.cwd();
      break;
    }
    dir = up;
  }
  if (!existsSync(join(dir, rel))) throw new Error(`${rel} not found above the test file or in the cwd`);
  return JSON.parse(readFileSync(join(dir, rel), "utf8"));
}

const f32 = (b64: string) => {
  const b = Buffer.from(b64, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
const f64 = (b64: string) => {
  const b = Buffer.from(b64, "base64");
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** max |got - want| / (atol + rtol * max|want|) must stay <= 1. */
function close(what: string, got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number) {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!);
    assert.ok(err <= atol + rtol * scale, `${what}[${i}]: got ${got[i]} want ${want[i]} (scale ${scale})`);
  }
}

const fx = loadFixture();

async function run(be: Backend, rtol: number) {
  const cfg = parseModelConfig(fx.config);
  const model = Model.create(be, cfg, { seed: 0 });
  const names = Object.keys(fx.params.tensors).sort();
  assert.deepEqual(
    model
      .paramTable()
      .map((s) => s.name)
      .sort(),
    names,
    "tensor names",
  );
  for (const n of names) model.writeParam(n, f32(fx.params.tensors[n]!));
  const batch = {
    ...fx.batch,
    ids: Int32Array.from(fx.batch.ids),
    targets: Int32Array.from(fx.batch.targets),
  };

  // Forward: logits and loss.
  const loss = await model.forward(batch);
  assert.ok(Math.abs(loss - fx.loss) <= rtol * fx.loss, `loss ${loss} vs ${fx.loss}`);
  close(
    "logits",
    await be.read(model.logitsTensor(batch.batchSize, batch.seqLen)),
    f64(fx.logits.data),
    rtol,
    0,
  );
  // Backward: every gradient.
  model.backward();
  for (const n of names) close(`grad ${n}`, await be.read(model.grad(n)), f64(fx.grads.tensors[n]!), rtol, 0);

  // Three AdamW steps with the layout's two ranges (decay on matrices only) and global-norm clipping.
  const a = fx.adamw;
  const total = model.layout.total;
  const m = view(be.createBuffer(total, "f32", "adam.m"), [total]);
  const v = view(be.createBuffer(total, "f32", "adam.v"), [total]);
  const sumSq = view(be.createBuffer(1, "f32", "sumsq"), [1]);
  be.fill(m, 0);
  be.fill(v, 0);
  const range = (t: ReturnType<Model["paramsFlat"]>, r: { offset: number; size: number }) =>
    view(t.buffer, [r.size], r.offset);
  for (let step = 1; step <= a.steps; step++) {
    model.zeroGrads();
    const l = await model.forward(batch);
    const want = fx.steps[step - 1]!;
    assert.ok(Math.abs(l - want.loss) <= rtol * want.loss, `step ${step} loss ${l} vs ${want.loss}`);
    model.backward();
    be.sumSquares(sumSq, [model.gradsFlat()]);
    const norm = Math.sqrt((await be.read(sumSq))[0]!);
    assert.ok(
      Math.abs(norm - want.gradNorm) <= rtol * want.gradNorm,
      `step ${step} norm ${norm} vs ${want.gradNorm}`,
    );
    for (const [r, wd] of [
      [model.layout.decay, a.weightDecay],
      [model.layout.noDecay, 0],
    ] as const) {
      be.adamw(range(model.paramsFlat(), r), range(model.gradsFlat(), r), range(m, r), range(v, r), {
        lr: a.lr,
        beta1: a.beta1,
        beta2: a.beta2,
        eps: a.eps,
        weightDecay: wd,
        step,
        clip: { sumSq, maxNorm: a.maxNorm },
      });
    }
  }
  for (const n of names) {
    close(
      `param after ${a.steps} steps ${n}`,
      await be.read(model.param(n)),
      f64(fx.finalParams.tensors[n]!),
      rtol,
      0,
    );
  }
  const finalLoss = await model.forward(batch);
  assert.ok(
    Math.abs(finalLoss - fx.finalLoss) <= rtol * fx.finalLoss,
    `final loss ${finalLoss} vs ${fx.finalLoss}`,
  );
  model.dispose();
}

test("golden GQA + CLA2 vs PyTorch: cpu f64", async () => {
  const be = await cpuBackend("f64");
  await run(be, 1e-9);
  be.dispose();
});

test("golden GQA + CLA2 vs PyTorch: cpu f32", async () => {
  const be = await cpuBackend("f32");
  await run(be, 3e-5);
  be.dispose();
});
