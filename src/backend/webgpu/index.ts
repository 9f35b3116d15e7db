// WebGPU backend entry (being written). Placeholder until it lands.
import type { Backend } from "../backend.js";
import { BackendError } from "../../errors.js";

export async function createWebGpuBackend(): Promise<Backend> {
  throw new BackendError("the webgpu backend is not built yet");
}
