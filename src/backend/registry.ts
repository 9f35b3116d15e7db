// Creating backends by name. WebGPU is imported lazily so that the CPU path never loads Dawn,
// and a machine without a usable adapter gets a BackendError that says why.
import type { Backend, BackendName } from "./backend.js";
import { BackendError } from "../errors.js";

export interface BackendOptions {
  /** CPU only: "f64" gives the slow, exact reference used by tests. Default "f32". */
  precision?: "f32" | "f64";
  /** CPU only: worker threads for the hot kernels (default: available cores). */
  threads?: number;
  /** WebGPU only: f16 tensor-core matmuls (see webgpu/webgpu-backend.ts WebGpuOptions). */
  tensorCores?: boolean;
  /** WebGPU only: when the tensor-core paged attention runs (default "faster"; webgpu/ops/paged-plan.ts). */
  attentionMma?: AttentionMmaMode;
}

/** The tensor-core paged attention: never, where it was measured faster, or wherever it applies. */
export const ATTENTION_MMA_MODES = ["off", "faster", "always"] as const;
export type AttentionMmaMode = (typeof ATTENTION_MMA_MODES)[number];

/** Help text of the `--tensor-cores` flag (train, bench ops / train). */
export const TENSOR_CORES_FLAG_HELP =
  "webgpu: f16 tensor-core matmuls for large shapes (operands rounded to f16, f32 accumulation, " +
  "~3e-4 relative error); needs shader-f16 and subgroup matrices (e.g. NVIDIA through Vulkan)";

export const BACKEND_NAMES: readonly BackendName[] = ["cpu", "webgpu"];

export async function createBackend(name: BackendName, opts: BackendOptions = {}): Promise<Backend> {
  switch (name) {
    case "cpu": {
      if (opts.tensorCores) {
        throw new BackendError(
          "tensor cores are a WebGPU option: drop --tensor-cores or use --backend webgpu",
        );
      }
      if (opts.attentionMma !== undefined) {
        throw new BackendError(
          "the tensor-core attention is a WebGPU option: drop --attention-mma or use --backend webgpu",
        );
      }
      const { createCpuBackend } = await import("./cpu/index.js");
      return createCpuBackend(opts);
    }
    case "webgpu": {
      const { createWebGpuBackend } = await import("./webgpu/index.js");
      return createWebGpuBackend({
        ...(opts.tensorCores ? { tensorCores: true } : {}),
        ...(opts.attentionMma !== undefined ? { attentionMma: opts.attentionMma } : {}),
      });
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

/** The best backend here: WebGPU on a real GPU, else the CPU. With `tensorCores` (a GPU-only
 *  option) WebGPU or a BackendError that says what is missing. In Node on Linux without a Vulkan
 *  loader it goes straight to the CPU: the only adapter left would be OpenGL ES (a software one
 *  here, e.g. llvmpipe), which it would not take, and opening it prints Dawn warnings that cannot
 *  be silenced. `--backend webgpu` still opens it. */
export async function createDefaultBackend(
  opts: BackendOptions = {},
  probe: { vulkanLoader?: () => boolean } = {},
): Promise<Backend> {
  if (opts.tensorCores) return createBackend("webgpu", opts);
  const nodeOnly = typeof process !== "undefined" && process.versions?.node !== undefined;
  if (nodeOnly && !(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) {
    const present = probe.vulkanLoader ?? (await import("./webgpu/vulkan-probe.js")).vulkanLoaderPresent;
    if (!present()) return createBackend("cpu", cpuOptions(opts));
  }
  try {
    const gpu = await createBackend("webgpu", gpuOptions(opts));
    if (!/llvmpipe|swiftshader|software/i.test(gpu.info().device + gpu.info().detail)) return gpu;
    gpu.dispose();
  } catch {
    // no GPU: fall through to the CPU
  }
  return createBackend("cpu", cpuOptions(opts));
}

/** The CPU's part of `opts` (auto mode falls back to it with the GPU-only options dropped). */
function cpuOptions(opts: BackendOptions): BackendOptions {
  return {
    ...(opts.precision !== undefined ? { precision: opts.precision } : {}),
    ...(opts.threads !== undefined ? { threads: opts.threads } : {}),
  };
}

/** The GPU's part of `opts`. */
function gpuOptions(opts: BackendOptions): BackendOptions {
  return opts.attentionMma !== undefined ? { attentionMma: opts.attentionMma } : {};
}
