// Creating backends by name. WebGPU is imported lazily so that the CPU path never loads Dawn,
// and a machine without a usable adapter gets a BackendError that says why.
import type { Backend, BackendName } from "./backend.js";
import { BackendError } from "../errors.js";

export interface BackendOptions {
  /** CPU only: "f64" gives the slow, exact reference used by tests. Default "f32". */
  precision?: "f32" | "f64";
  /** CPU only: worker threads for the hot kernels (default: available cores). */
  threads?: number;
}

export const BACKEND_NAMES: readonly BackendName[] = ["cpu", "webgpu"];

export async function createBackend(name: BackendName, opts: BackendOptions = {}): Promise<Backend> {
  switch (name) {
    case "cpu": {
      const { createCpuBackend } = await import("./cpu/index.js");
      return createCpuBackend(opts);
    }
    case "webgpu": {
      const { createWebGpuBackend } = await import("./webgpu/index.js");
      return createWebGpuBackend();
    }
    default:
      throw new BackendError(`unknown backend "${String(name)}": use one of ${BACKEND_NAMES.join(", ")}`);
  }
}

/** Every backend that starts on this machine, with the reason for each that does not. */
export async function probeBackends(): Promise<{
  ok: Backend[];
  failed: { name: BackendName; reason: string }[];
}> {
  const ok: Backend[] = [];
  const failed: { name: BackendName; reason: string }[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      ok.push(await createBackend(name));
    } catch (e) {
      failed.push({ name, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  return { ok, failed };
}

/** The best backend here: WebGPU on a real GPU, else the CPU. */
export async function createDefaultBackend(): Promise<Backend> {
  try {
    const gpu = await createBackend("webgpu");
    if (!/llvmpipe|swiftshader|software/i.test(gpu.info().device + gpu.info().detail)) return gpu;
    gpu.dispose();
  } catch {
    // no GPU: fall through to the CPU
  }
  return createBackend("cpu");
}
