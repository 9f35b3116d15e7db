// What a training checkpoint holds and how it maps onto live objects: weights by layout name
// (model.safetensors), AdamW moments as exp_avg.<name> / exp_avg_sq.<name> (optimizer.safetensors,
// PyTorch's names), and state.json (config, options, step, data position, elapsed seconds).
import { view } from "../backend/tensor.js";
import { FormatError } from "../errors.js";
import { bytesToF32, f32Bytes, type NamedTensor } from "../io/safetensors.js";
import type { ModelConfig } from "../model/config-types.js";
import type { Model } from "../model/model.js";
import type { AdamW } from "./adamw.js";
import { type LoadedCheckpoint, saveCheckpoint } from "../io/checkpoint.js";
import type { DataSources } from "./data-source.js";
import type { TrainOptions } from "./types.js";

export interface TrainState {
  config: ModelConfig;
  options: TrainOptions;
  step: number;
  trainSeconds: number;
  dataDir: string;
  data: unknown;
  /** Tokenizer file of the run, relative to the run folder. */
  tokenizer: string;
}

interface Live {
  model: Model;
  opt: AdamW;
  data: DataSources;
  config: ModelConfig;
}

/** Splits a flat layout-ordered array into named F32 tensors. */
function named(model: Model, flat: Float32Array | Float64Array, prefix = ""): NamedTensor[] {
  return model.paramTable().map((s) => ({
    name: prefix + s.name,
    dtype: "F32" as const,
    shape: [...s.shape],
    data: f32Bytes(Float32Array.from(flat.subarray(s.offset, s.offset + s.numel))),
  }));
}

export async function saveTrainState(
  root: string,
  s: Live & { options: TrainOptions; step: number; trainSeconds: number; dataDir: string },
): Promise<string> {
  const { m, v } = s.opt.moments();
  const [params, mFlat, vFlat] = await Promise.all([
    s.model.readParams(),
    s.model.backend.read(m) as Promise<Float32Array>,
    s.model.backend.read(v) as Promise<Float32Array>,
  ]);
  const state: Omit<TrainState, "step"> = {
    config: s.config,
    options: s.options,
    trainSeconds: s.trainSeconds,
    dataDir: s.dataDir,
    data: s.data.train.state(),
    tokenizer: "tokenizer.json",
  };
  return saveCheckpoint(root, {
    step: s.step,
    params: named(s.model, params),
    optimizer: [...named(s.model, mFlat, "exp_avg."), ...named(s.model, vFlat, "exp_avg_sq.")],
    state,
  });
}

/** Loads weights, moments and data position into the live objects; returns where to continue. */
export async function restoreTrainState(
  c: LoadedCheckpoint<TrainState>,
  live: Live,
): Promise<{ step: number; trainSeconds: number }> {
  if (JSON.stringify(c.state.config) !== JSON.stringify(live.config)) {
    throw new FormatError(
      `${c.dir} was trained with config "${c.state.config.name}" that differs from "${live.config.name}" now: resume with the same config, or use a new --out folder`,
    );
  }
  const backend = live.model.backend;
  const { m, v } = live.opt.moments();
  for (const s of live.model.paramTable()) {
    const get = (file: typeof c.params, name: string) => {
      const t = file.tensors.get(name);
      if (!t) throw new FormatError(`${c.dir}: tensor "${name}" is missing`);
      const data = bytesToF32(t.data);
      if (data.length !== s.numel)
        throw new FormatError(`${c.dir}: tensor "${name}" has ${data.length} values, expected ${s.numel}`);
      return data;
    };
    live.model.writeParam(s.name, get(c.params, s.name));
    backend.write(view(m.buffer, s.shape, s.offset), get(c.optimizer, `exp_avg.${s.name}`));
    backend.write(view(v.buffer, s.shape, s.offset), get(c.optimizer, `exp_avg_sq.${s.name}`));
  }
  live.data.train.restore(c.state.data);
  return { step: c.step, trainSeconds: c.state.trainSeconds };
}
