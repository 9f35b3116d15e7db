// The --backend flag shared by commands that compute: "auto" picks WebGPU on a real GPU and the
// CPU otherwise; "cpu" / "webgpu" force one (a clear error if it cannot start here).
import type { Backend } from "../backend/backend.js";
import { type BackendOptions, createBackend, createDefaultBackend } from "../backend/registry.js";
import { ConfigError } from "../errors.js";

export const BACKEND_FLAG_HELP = "compute backend: auto (GPU if present, else CPU), cpu, webgpu";

export { TENSOR_CORES_FLAG_HELP } from "../backend/registry.js";

export async function backendFromFlag(flag: string | undefined, opts: BackendOptions = {}): Promise<Backend> {
  const v = (flag ?? "auto").toLowerCase();
  if (v === "auto") return createDefaultBackend(opts);
  if (v === "cpu" || v === "webgpu") return createBackend(v, opts);
  throw new ConfigError(`--backend ${flag} is not one of auto, cpu, webgpu`);
}

/** Parses a positive integer flag, naming the flag in the error. */
export function intFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new ConfigError(`--${name} ${value} must be a non-negative integer`);
  return n;
}

/** Parses a positive number flag (e.g. a learning rate), naming the flag in the error. */
export function numFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new ConfigError(`--${name} ${value} must be a non-negative number`);
  return n;
}
