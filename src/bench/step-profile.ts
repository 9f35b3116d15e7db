// `bench step`: where one training step's time goes, op by op, at the real shapes. A recording
// proxy captures every backend call of one step (forward, backward, AdamW with clip); each call
// is then replayed alone `reps` times between syncs and timed. Rows are grouped by op and shape
// and sorted by time per step; their sum approximates the step (minus overlap and host work).
// `--profile` (webgpu with timestamp-query) also times three whole steps kernel by kernel on the
// GPU: the in-step cost of each kernel, which the replays of single ops can overstate.
import type { Backend, BackendName } from "../backend/backend.js";
import { createBackend } from "../backend/registry.js";
import type { Tensor } from "../backend/tensor.js";
import { ConfigError } from "../errors.js";
import { loadModelConfig } from "../model/config.js";
import { Model } from "../model/model.js";
import { AdamW } from "../train/adamw.js";
import { DEFAULT_TRAIN_OPTIONS } from "../train/types.js";
import { canProfile, profileSteps, type StepKernelProfile } from "./kernel-profile.js";
import { median } from "./timing.js";

const OPS = new Set([
  "fill",
  "cast",
  "add",
  "scale",
  "matmul",
  "embedding",
  "embeddingBackward",
  "rmsnorm",
  "rmsnormBackward",
  "rope",
  "swiglu",
  "swigluBackward",
  "attention",
  "attentionBackward",
  "crossEntropy",
  "crossEntropyBackward",
  "sumSquares",
  "adamw",
]);

interface Call {
  op: string;
  args: unknown[];
}

export interface StepProfileRow {
  op: string;
  /** Shapes of the tensor arguments, e.g. "[16384,512]x[1536,512]". */
  shapes: string;
  /** Calls of this op at these shapes in one step. */
  calls: number;
  /** Median seconds of one call. */
  secondsPerCall: number;
  /** calls x secondsPerCall. */
  secondsPerStep: number;
}

function shapeKey(args: unknown[]): string {
  return args
    .filter((a): a is Tensor => typeof a === "object" && a !== null && "shape" in a && "buffer" in a)
    .map((t) => `[${t.shape.join(",")}]${t.dtype === "f32" ? "" : t.dtype}`)
    .join("x");
}

/** A Backend whose op calls are recorded (and still executed). */
function recording(inner: Backend, calls: Call[]): Backend {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver);
      if (typeof v !== "function") return v;
      if (typeof prop === "string" && OPS.has(prop)) {
        return (...args: unknown[]) => {
          calls.push({ op: prop, args });
          return v.apply(target, args);
        };
      }
      return v.bind(target);
    },
  });
}

export async function profileStep(opts: {
  backend: BackendName;
  config: string;
  batch: number;
  seq: number;
  reps?: number;
  /** Also time whole steps kernel by kernel on the GPU (needs timestamp-query). */
  gpuProfile?: boolean;
}): Promise<{
  rows: StepProfileRow[];
  device: string;
  stepSeconds: number;
  kernels: StepKernelProfile | null;
}> {
  const inner = await createBackend(opts.backend);
  try {
    if (opts.gpuProfile && !canProfile(inner)) {
      throw new ConfigError(
        `--profile: ${inner.name} on ${inner.info().device} cannot time kernels (no timestamp-query); drop --profile`,
      );
    }
    const calls: Call[] = [];
    const backend = recording(inner, calls);
    const config = loadModelConfig(opts.config);
    const model = Model.create(backend, config, { seed: 1 });
    const opt = new AdamW(backend, model.layout, DEFAULT_TRAIN_OPTIONS);
    const n = opts.batch * opts.seq;
    const ids = Int32Array.from({ length: n }, (_, i) => (i * 7919) % config.vocabSize);
    const targets = Int32Array.from({ length: n }, (_, i) => (i * 104729 + 3) % config.vocabSize);
    const batch = { ids, targets, batchSize: opts.batch, seqLen: opts.seq };
    const step = async () => {
      model.zeroGrads();
      await model.forward(batch);
      model.backward();
      opt.step(model.paramsFlat(), model.gradsFlat(), { lr: 1e-4, step: 1 });
      await inner.sync();
    };
    await step(); // warm-up: pipelines, allocations
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await step();
      times.push((performance.now() - t0) / 1000);
    }
    calls.length = 0;
    await step(); // the recorded step
    const recorded = [...calls];
    const reps = opts.reps ?? 10;
    const groups = new Map<string, { op: string; shapes: string; samples: number[]; calls: number }>();
    for (const c of recorded) {
      const key = `${c.op} ${shapeKey(c.args)}`;
      let g = groups.get(key);
      if (!g) {
        g = { op: c.op, shapes: shapeKey(c.args), samples: [], calls: 0 };
        groups.set(key, g);
        // reps back-to-back calls between two syncs, three times: amortises the sync itself
        for (let k = 0; k < 3; k++) {
          await inner.sync();
          const t0 = performance.now();
          for (let r = 0; r < reps; r++)
            (inner as unknown as Record<string, (...a: unknown[]) => void>)[c.op]!(...c.args);
          await inner.sync();
          g.samples.push((performance.now() - t0) / 1000 / reps);
        }
      }
      g.calls++;
    }
    const rows = [...groups.values()]
      .map((g) => {
        const per = median(g.samples);
        return {
          op: g.op,
          shapes: g.shapes,
          calls: g.calls,
          secondsPerCall: per,
          secondsPerStep: per * g.calls,
        };
      })
      .sort((a, b) => b.secondsPerStep - a.secondsPerStep);
    const steps = async (n: number) => {
      for (let i = 0; i < n; i++) await step();
    };
    const kernels = opts.gpuProfile ? await profileSteps(inner, steps, 3) : null;
    model.dispose();
    opt.dispose();
    return { rows, device: inner.info().device, stepSeconds: median(times), kernels };
  } finally {
    inner.dispose();
  }
}

interface StepFlags {
  backend: string;
  config: string;
  batch: string;
  seq: string;
  json?: boolean;
  profile?: boolean;
}

/** `crosslayer bench step`: prints the per-op breakdown of one training step, a table last. */
export function registerStepProfile(bench: import("commander").Command): void {
  bench
    .command("step")
    .description("per-op time of one training step at real shapes (record one step, replay each op alone)")
    .option("--backend <name>", "cpu | webgpu", "cpu")
    .option("--config <preset>", "model preset", "tiny-H16-MQA")
    .option("--batch <n>", "sequences per step", "4")
    .option("--seq <n>", "tokens per sequence", "256")
    .option("--json", "one JSON object per row")
    .option("--profile", "webgpu: also GPU time per kernel over three whole steps (timestamp queries)")
    .action(async (f: StepFlags) => {
      const r = await profileStep({
        backend: f.backend as BackendName,
        config: f.config,
        batch: Number(f.batch),
        seq: Number(f.seq),
        gpuProfile: f.profile ?? false,
      });
      const out = (s: string) => process.stdout.write(`${s}\n`);
      const total = r.rows.reduce((a, b) => a + b.secondsPerStep, 0);
      if (f.json) {
        for (const row of r.rows)
          out(JSON.stringify({ bench: "step", backend: f.backend, config: f.config, ...row }));
        out(
          JSON.stringify({
            bench: "step",
            backend: f.backend,
            config: f.config,
            stepSeconds: r.stepSeconds,
            sumSeconds: total,
          }),
        );
        if (r.kernels)
          out(JSON.stringify({ bench: "step-kernels", backend: f.backend, config: f.config, ...r.kernels }));
        return;
      }
      if (r.kernels) {
        out(`${"kernel (GPU, whole steps)".padEnd(40)} ${"calls".padStart(6)} ${"ms/step".padStart(9)}`);
        for (const k of r.kernels.kernels) {
          out(
            `${k.kernel.padEnd(40)} ${k.dispatchesPerStep.toFixed(0).padStart(6)} ${k.msPerStep.toFixed(2).padStart(9)}`,
          );
        }
        out(`GPU time per step ${r.kernels.gpuMsPerStep.toFixed(1)} ms (kernels only, no gaps)\n`);
      }
      out(
        `${"op".padEnd(22)} ${"calls".padStart(5)} ${"ms/call".padStart(9)} ${"ms/step".padStart(9)} ${"share".padStart(6)}  shapes`,
      );
      for (const row of r.rows) {
        out(
          `${row.op.padEnd(22)} ${String(row.calls).padStart(5)} ${(row.secondsPerCall * 1e3).toFixed(3).padStart(9)} ` +
            `${(row.secondsPerStep * 1e3).toFixed(2).padStart(9)} ${((row.secondsPerStep / total) * 100).toFixed(1).padStart(5)}%  ${row.shapes}`,
        );
      }
      out(
        `sum of ops ${(total * 1e3).toFixed(1)} ms; measured step ${(r.stepSeconds * 1e3).toFixed(1)} ms on ${r.device}`,
      );
    });
}
