// Loads a trained model for inference from a run folder (its `checkpoints/latest`) or a checkpoint
// folder: the config from state.json, the weights from model.safetensors, the run's tokenizer.json.
// Every disagreement between the files is a FormatError naming the file and the fix; nothing is
// guessed. It builds objects; it does not generate (see engine.ts, and the `generate` command).
import { existsSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Backend } from "../backend/backend.js";
import { loadTokenizer } from "../data/tokenizers/resolve.js";
import type { TextTokenizer } from "../data/tokenizers/types.js";
import { ConfigError, FormatError } from "../errors.js";
import { bytesToF32 } from "../io/safetensors.js";
import type { ModelConfig } from "../model/config-types.js";
import { parseModelConfig } from "../model/config.js";
import { Model } from "../model/model.js";
import { latestCheckpoint, loadCheckpoint } from "../io/checkpoint.js";
import { LocalEngine, type LocalEngineOptions } from "./engine.js";

export interface LoadedForInference {
  model: Model;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  /** The checkpoint folder the weights came from. */
  checkpointDir: string;
  step: number;
}

/** The checkpoint folder `path` names: itself (has state.json) or a run folder's latest. */
export function resolveCheckpointDir(path: string): string {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isDirectory()) {
    throw new ConfigError(`checkpoint ${path} is not a folder: give a run folder or a checkpoint folder`);
  }
  if (existsSync(join(abs, "state.json"))) return abs;
  const root = existsSync(join(abs, "checkpoints")) ? join(abs, "checkpoints") : abs;
  const latest = latestCheckpoint(root);
  if (latest === undefined) {
    throw new FormatError(
      `${path} holds no checkpoint (no state.json, no checkpoints/latest): train first, or point at a step-N folder`,
    );
  }
  return latest;
}

/** Where the run's tokenizer.json is: beside the checkpoint, or in the run folder two levels up. */
function findTokenizer(ckptDir: string, relative: string | undefined): string {
  const name = relative ?? "tokenizer.json";
  const candidates = [
    join(ckptDir, name),
    join(dirname(dirname(ckptDir)), name),
    join(dirname(ckptDir), name),
  ];
  const hit = candidates.find((p) => existsSync(p));
  if (hit === undefined) {
    throw new FormatError(
      `no ${name} for checkpoint ${ckptDir} (looked in ${candidates.join(", ")}): copy the run's tokenizer.json beside it`,
    );
  }
  return hit;
}

/** Loads config, weights and tokenizer; checks that they agree. The caller disposes the model. */
export function loadForInference(path: string, backend: Backend): LoadedForInference {
  const dir = resolveCheckpointDir(path);
  const ckpt = loadCheckpoint<{ config?: unknown; tokenizer?: string }>(dir, { weightsOnly: true });
  if (ckpt.state.config === undefined) {
    throw new FormatError(
      `${join(dir, "state.json")} has no "config": it was not written by crosslayer train`,
    );
  }
  const config = parseModelConfig(ckpt.state.config, join(dir, "state.json"));
  const tokenizer = loadTokenizer(findTokenizer(dir, ckpt.state.tokenizer));
  if (tokenizer.vocabSize > config.vocabSize) {
    throw new FormatError(
      `the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabSize is ${config.vocabSize}: ` +
        "use the tokenizer.json of the run that trained this checkpoint",
    );
  }
  const model = Model.create(backend, config);
  try {
    const known = new Set<string>();
    for (const s of model.paramTable()) {
      known.add(s.name);
      const t = ckpt.params.tensors.get(s.name);
      const where = `${join(dir, "model.safetensors")}: tensor "${s.name}"`;
      if (t === undefined)
        throw new FormatError(`${where} is missing: the weights do not match state.json's config`);
      if (t.dtype !== "F32")
        throw new FormatError(`${where} is ${t.dtype}; crosslayer checkpoints store F32`);
      if (t.shape.join("x") !== s.shape.join("x")) {
        throw new FormatError(
          `${where} has shape [${t.shape}] but the config "${config.name}" needs [${s.shape}]: the files disagree`,
        );
      }
      model.writeParam(s.name, bytesToF32(t.data));
    }
    const extra = [...ckpt.params.tensors.keys()].filter((k) => !known.has(k));
    if (extra.length > 0) {
      throw new FormatError(
        `${join(dir, "model.safetensors")} has tensors the config "${config.name}" does not: ${extra.slice(0, 3).join(", ")}`,
      );
    }
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, config, tokenizer, checkpointDir: dir, step: ckpt.step };
}

/** Engine settings for a loaded checkpoint (see LocalEngineOptions). */
export type CheckpointEngineOptions = Omit<LocalEngineOptions, "model" | "codec" | "eosTokenId">;

/**
 * A LocalEngine over a checkpoint: its tokenizer is the engine's codec and its end-of-text token
 * ends every generation. Dispose both: `engine.dispose(); loaded.model.dispose()`.
 */
export function engineFromCheckpoint(
  path: string,
  backend: Backend,
  opts: CheckpointEngineOptions = {},
): { engine: LocalEngine; loaded: LoadedForInference } {
  const loaded = loadForInference(path, backend);
  try {
    const eot = loaded.tokenizer.eotId;
    const engine = new LocalEngine({
      maxRunning: 1,
      ...opts,
      model: loaded.model,
      codec: loaded.tokenizer,
      ...(eot !== null ? { eosTokenId: eot } : {}),
    });
    return { engine, loaded };
  } catch (e) {
    loaded.model.dispose();
    throw e;
  }
}
