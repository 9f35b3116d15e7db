// The training loop: AdamW (paper betas, decoupled decay, global-norm clip), warmup + cosine LR,
// gradient accumulation, periodic validation, JSONL metrics, atomic checkpoints, exact resume.
// A resumed run replays the identical loss curve: params, moments, step and the data position
// all come back from the checkpoint, and nothing else carries state.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import { evaluateLoss } from "../eval/perplexity.js";
import { kvBytesPerToken16 } from "../model/accounting.js";
import { Model } from "../model/model.js";
import { AdamW } from "./adamw.js";
import { latestCheckpoint, loadCheckpoint } from "../io/checkpoint.js";
import { type DataSources, openDataSources } from "./data-source.js";
import { MetricsLog } from "./metrics.js";
import { createProgress } from "./progress.js";
import { lrAt, validateSchedule } from "./schedule.js";
import { type TrainState, restoreTrainState, saveTrainState } from "./state.js";
import type { TrainOptions, TrainResult, TrainRunSpec } from "./types.js";

function validateOptions(o: TrainOptions, maxSeqLen: number): void {
  const posInt: (keyof TrainOptions)[] = ["steps", "batchSize", "seqLen", "gradAccum", "evalBatches"];
  for (const k of posInt) {
    if (!Number.isInteger(o[k]) || (o[k] as number) < 1)
      throw new ConfigError(`${k} ${o[k]} must be a positive integer`);
  }
  if (o.seqLen > maxSeqLen) {
    throw new ConfigError(
      `seqLen ${o.seqLen} exceeds the model's maxSeqLen ${maxSeqLen}: lower seqLen or raise maxSeqLen`,
    );
  }
  if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1)) {
    throw new ConfigError(`betas (${o.beta1}, ${o.beta2}) must be in [0, 1)`);
  }
  if (!(o.weightDecay >= 0) || !(o.clipNorm >= 0) || !(o.eps > 0)) {
    throw new ConfigError(
      `weightDecay ${o.weightDecay} and clipNorm ${o.clipNorm} must be >= 0, eps ${o.eps} > 0`,
    );
  }
}

/** Trains one model on one data folder; resumes from `outDir`'s latest checkpoint if asked. */
export async function trainRun(spec: TrainRunSpec): Promise<TrainResult> {
  const { backend, config, options: o } = spec;
  validateOptions(o, config.maxSeqLen);
  const schedule = {
    peak: o.lr,
    warmupSteps: Math.round(o.warmupFraction * o.steps),
    totalSteps: o.steps,
    minRatio: o.minLrRatio,
  };
  validateSchedule(schedule);
  const data: DataSources = openDataSources(spec.dataDir, o, config.vocabSize);
  const model = Model.create(backend, config, { seed: o.seed });
  const opt = new AdamW(backend, model.layout, o);
  const ckptRoot = join(spec.outDir, "checkpoints");
  const metrics = new MetricsLog(join(spec.outDir, "metrics.jsonl"));
  const label = spec.label ?? config.name;
  let step = 0;
  let trainSeconds = 0;
  const latest = spec.resume ? latestCheckpoint(ckptRoot) : undefined;
  if (latest) {
    const restored = await restoreTrainState(loadCheckpoint<TrainState>(latest), {
      model,
      opt,
      data,
      config,
    });
    step = restored.step;
    trainSeconds = restored.trainSeconds;
    metrics.truncateAfter(step);
  } else {
    metrics.truncateAfter(-1);
    data.saveTokenizer(spec.outDir);
  }
  const tokensPerStep = o.batchSize * o.seqLen * o.gradAccum;
  const progress = spec.quiet
    ? undefined
    : createProgress(label, o.steps, { every: Math.max(1, Math.round(o.steps / 10)) });
  let lastLoss = Number.NaN;
  let lastVal = { loss: Number.NaN, ppl: Number.NaN, tokens: 0 };
  const save = () =>
    saveTrainState(ckptRoot, {
      model,
      opt,
      data,
      config,
      options: o,
      step,
      trainSeconds,
      dataDir: spec.dataDir,
    });

  try {
    while (step < o.steps) {
      const t0 = performance.now();
      step++;
      model.zeroGrads();
      // Everything is enqueued before the first await: on a GPU the backward is encoded while the
      // forward runs. Each loss read snapshots its micro-batch at its place in the op order.
      const microLosses: Promise<number>[] = [];
      for (let micro = 0; micro < o.gradAccum; micro++) {
        const pending = model.forward(data.train.next());
        pending.catch(() => undefined); // awaited below; a failed forward is reported from there
        microLosses.push(pending);
        try {
          model.backward();
        } catch (e) {
          await pending; // a failed forward explains a failed backward better
          throw e;
        }
      }
      const lr = lrAt(step, schedule);
      opt.step(model.paramsFlat(), model.gradsFlat(), { lr, step, gradScale: 1 / o.gradAccum });
      let loss = 0;
      for (const l of microLosses) loss += (await l) / o.gradAccum;
      const gradNorm = (await opt.lastGradNorm()) / o.gradAccum;
      const dt = (performance.now() - t0) / 1000;
      trainSeconds += dt;
      lastLoss = loss;
      if (!Number.isFinite(loss)) {
        throw new ConfigError(
          `loss became ${loss} at step ${step} (lr ${lr.toExponential(2)}): lower the learning rate`,
        );
      }
      const tokensPerSecond = tokensPerStep / dt;
      metrics.append({
        kind: "train",
        step,
        loss,
        lr,
        gradNorm,
        tokens: step * tokensPerStep,
        tokensPerSecond,
      });
      progress?.update(step, { loss, lr, tokensPerSecond });
      const last = step === o.steps;
      if (last || (o.evalEvery > 0 && step % o.evalEvery === 0)) {
        lastVal = await evaluateLoss(model, data.valBatches());
        metrics.append({ kind: "val", step, loss: lastVal.loss, ppl: lastVal.ppl, tokens: lastVal.tokens });
        progress?.log(
          `${label} step ${step}: val loss ${lastVal.loss.toFixed(4)} ppl ${lastVal.ppl.toFixed(2)}`,
        );
      }
      spec.onStep?.(step, loss);
      // let signal handlers (Ctrl-C -> abort) run: the loop never waits on I/O otherwise
      if (spec.signal) await new Promise((r) => setTimeout(r, 0));
      if (last || (o.checkpointEvery > 0 && step % o.checkpointEvery === 0)) await save();
      else if (spec.signal?.aborted) await save();
      if (spec.signal?.aborted) break;
    }
  } finally {
    progress?.stop();
  }
  const interrupted = step < o.steps;
  if (Number.isNaN(lastVal.loss) && !interrupted) {
    // resumed a finished run: evaluate the restored model so the result is complete
    lastVal = await evaluateLoss(model, data.valBatches());
  }
  const result: TrainResult = {
    name: config.name,
    outDir: spec.outDir,
    steps: step,
    tokens: step * tokensPerStep,
    params: model.layout.paramCount,
    kvBytesPerToken16: kvBytesPerToken16(config),
    finalTrainLoss: lastLoss,
    finalValLoss: lastVal.loss,
    finalValPpl: lastVal.ppl,
    tokensPerSecond: trainSeconds > 0 ? (step * tokensPerStep) / trainSeconds : 0,
    seconds: trainSeconds,
    backend: backend.name,
    device: backend.info().device,
    tensorCores: backend.info().tensorCores ?? false,
    interrupted,
  };
  // result.json marks a finished run (sweeps skip those); an interrupted one has only checkpoints
  if (!interrupted) writeFileSync(join(spec.outDir, "result.json"), `${JSON.stringify(result, null, 2)}\n`);
  model.dispose();
  opt.dispose();
  data.close();
  return result;
}
