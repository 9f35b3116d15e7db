// Checkpoint directories: <dir>/step-<N>/{model.safetensors, optimizer.safetensors, state.json}
// plus <dir>/latest naming the newest complete one. A checkpoint is written into a temp folder,
// fsynced, renamed into place, and only then does `latest` move (atomically): a run killed at
// any moment leaves the previous checkpoint intact and `latest` pointing at a complete one.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { FormatError } from "../errors.js";
import { writeFileAtomic } from "./atomic-file.js";
import { type NamedTensor, readSafetensors, type SafetensorsFile, writeSafetensors } from "./safetensors.js";

export const CHECKPOINT_FORMAT = "crosslayer-checkpoint-v1";

export interface CheckpointContents<State> {
  step: number;
  params: readonly NamedTensor[];
  optimizer: readonly NamedTensor[];
  state: State;
}

export interface LoadedCheckpoint<State> {
  dir: string;
  step: number;
  params: SafetensorsFile;
  optimizer: SafetensorsFile;
  state: State;
}

function stepDirName(step: number): string {
  return `step-${String(step).padStart(8, "0")}`;
}

/** Writes a complete checkpoint and moves `latest` to it; keeps the newest `keep` checkpoints. */
export function saveCheckpoint<State>(root: string, c: CheckpointContents<State>, keep = 2): string {
  mkdirSync(root, { recursive: true });
  const name = stepDirName(c.step);
  const final = join(root, name);
  const tmp = join(root, `.${name}.partial`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const meta = { format: CHECKPOINT_FORMAT, step: String(c.step) };
  writeSafetensors(join(tmp, "model.safetensors"), c.params, meta);
  writeSafetensors(join(tmp, "optimizer.safetensors"), c.optimizer, meta);
  writeFileAtomic(
    join(tmp, "state.json"),
    `${JSON.stringify({ format: CHECKPOINT_FORMAT, step: c.step, ...c.state }, null, 2)}\n`,
  );
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  writeFileAtomic(join(root, "latest"), `${name}\n`);
  prune(root, keep);
  return final;
}

function prune(root: string, keep: number): void {
  const steps = readdirSync(root)
    .filter((f) => /^step-\d{8}$/.test(f))
    .sort();
  for (const old of steps.slice(0, Math.max(0, steps.length - keep)))
    rmSync(join(root, old), { recursive: true });
}

/** The newest complete checkpoint under `root`, or undefined when there is none. */
export function latestCheckpoint(root: string): string | undefined {
  const pointer = join(root, "latest");
  if (!existsSync(pointer)) return undefined;
  const name = readFileSync(pointer, "utf8").trim();
  const dir = join(root, name);
  if (!existsSync(join(dir, "state.json"))) {
    throw new FormatError(
      `${pointer} names ${name}, which is missing or incomplete: delete ${pointer} to start over`,
    );
  }
  return dir;
}

/**
 * Loads a checkpoint folder, checking that its files agree on the step. `weightsOnly` skips the
 * optimizer moments (inference needs only the weights).
 */
export function loadCheckpoint<State>(
  dir: string,
  opts: { weightsOnly?: boolean } = {},
): LoadedCheckpoint<State> {
  const statePath = join(dir, "state.json");
  if (!existsSync(statePath)) throw new FormatError(`${dir} is not a checkpoint: it has no state.json`);
  const state = JSON.parse(readFileSync(statePath, "utf8")) as State & { format?: string; step?: number };
  if (state.format !== CHECKPOINT_FORMAT) {
    throw new FormatError(`${statePath} has format ${state.format}, expected ${CHECKPOINT_FORMAT}`);
  }
  const params = readSafetensors(join(dir, "model.safetensors"));
  const optimizer =
    !opts.weightsOnly && existsSync(join(dir, "optimizer.safetensors"))
      ? readSafetensors(join(dir, "optimizer.safetensors"))
      : { tensors: new Map<string, NamedTensor>(), metadata: {} as Record<string, string> };
  for (const [what, f] of [
    ["model.safetensors", params],
    ["optimizer.safetensors", optimizer],
  ] as const) {
    const s = f.metadata.step;
    if (s !== undefined && Number(s) !== state.step) {
      throw new FormatError(`${dir}: ${what} is from step ${s} but state.json says step ${state.step}`);
    }
  }
  return { dir, step: state.step ?? 0, params, optimizer, state };
}
