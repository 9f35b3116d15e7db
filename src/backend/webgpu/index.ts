// WebGPU backend entry: acquires a device (real GPU, else Mesa llvmpipe through Dawn's OpenGL ES
// backend, chosen automatically) and returns the Backend. Runtime internals are in runtime.ts;
// ops in ops/*.ts; kernels in kernels/*.wgsl. Throws BackendError when no adapter exists.
import type { Backend } from "../backend.js";
import { acquireGpu } from "./device.js";
import { WebGpuBackend, type WebGpuOptions } from "./webgpu-backend.js";

export { Runtime } from "./runtime.js";
export { WebGpuBackend, type WebGpuOptions } from "./webgpu-backend.js";

export async function createWebGpuBackend(opts: WebGpuOptions = {}): Promise<Backend> {
  const ctx = await acquireGpu();
  try {
    return new WebGpuBackend(ctx, opts);
  } catch (e) {
    ctx.device.destroy();
    throw e;
  }
}
