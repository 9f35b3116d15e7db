// WebGPU device acquisition: `navigator.gpu` in browsers, Dawn (`webgpu` package) in Node. In Node
// it tries the default adapter (Vulkan on a real GPU, with the NVIDIA f16 / subgroup-matrix toggles)
// and falls back by itself to Dawn's OpenGL ES backend on Mesa llvmpipe (no env vars from the user);
// on Linux without a Vulkan loader it goes straight to OpenGL ES (./vulkan-probe.ts).
// It requests the optional features we use and the adapter's maximum limits. It does not dispatch.
/// <reference types="@webgpu/types" />
import { BackendError } from "../../errors.js";

/** WebGPU enum values, spelled out so the code needs no GPU* globals (Node has none). */
export const BufferUsage = {
  MAP_READ: 0x1,
  MAP_WRITE: 0x2,
  COPY_SRC: 0x4,
  COPY_DST: 0x8,
  UNIFORM: 0x40,
  STORAGE: 0x80,
} as const;
export const SHADER_STAGE_COMPUTE = 0x4;
export const MAP_MODE_READ = 0x1;

/** Optional features requested when the adapter has them. */
export const OPTIONAL_FEATURES = [
  "shader-f16",
  "subgroups",
  "timestamp-query",
  "chromium-experimental-subgroup-matrix",
] as const;

/** Limits requested at the adapter's maximum (or minimum, for alignments). */
const MAX_LIMITS = [
  "maxStorageBufferBindingSize",
  "maxBufferSize",
  "maxComputeWorkgroupStorageSize",
  "maxComputeInvocationsPerWorkgroup",
  "maxComputeWorkgroupSizeX",
  "maxComputeWorkgroupSizeY",
  "maxComputeWorkgroupSizeZ",
  "maxComputeWorkgroupsPerDimension",
  "maxStorageBuffersPerShaderStage",
  "maxUniformBufferBindingSize",
] as const;
const MIN_LIMITS = ["minStorageBufferOffsetAlignment", "minUniformBufferOffsetAlignment"] as const;

export interface GpuContext {
  device: GPUDevice;
  adapter: GPUAdapter;
  /** e.g. "llvmpipe", "nvidia-h100-80gb-hbm3". */
  deviceName: string;
  /** e.g. "vulkan", "opengles (llvmpipe)", "navigator.gpu" (a browser). */
  detail: string;
  features: string[];
  limits: Record<string, number>;
}

/**
 * Dawn GPU instances stay referenced for the life of the process: when the JS `GPU` object of a live
 * device is garbage-collected, dawn.node tears the instance down under it and the process aborts
 * (seen with the OpenGL ES backend: pthread mutex assertions at random points).
 */
const instances: GPU[] = [];

interface DawnModule {
  create(flags: string[]): GPU;
}

/**
 * Extra Dawn toggles for the native (Vulkan/Metal/D3D12) adapter from CROSSLAYER_DAWN_TOGGLES
 * (comma-separated), an expert knob for benchmarks: e.g. `skip_validation` (less host time per
 * command) or `disable_robustness` (no index clamping in kernels; only for kernels known to stay in
 * bounds). Unset in normal use.
 */
function extraDawnToggles(): string[] {
  const v = typeof process !== "undefined" ? process.env.CROSSLAYER_DAWN_TOGGLES : undefined;
  if (!v) return [];
  const list = v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.find((t) => !/^[a-z0-9_]+$/.test(t));
  if (bad !== undefined) {
    throw new BackendError(
      `CROSSLAYER_DAWN_TOGGLES entry "${bad}" is not a Dawn toggle name: use lower_snake_case names such as skip_validation`,
    );
  }
  return list;
}

function nodeBackendName(): string {
  if (process.platform === "darwin") return "metal";
  if (process.platform === "win32") return "d3d12";
  return "vulkan";
}

async function nodeAdapter(): Promise<{ adapter: GPUAdapter; detail: string }> {
  // Mesa's EGL reads this when Dawn first opens a GL display; harmless for Vulkan.
  process.env.EGL_PLATFORM ??= "surfaceless";
  let dawn: DawnModule;
  try {
    dawn = (await import("webgpu")) as unknown as DawnModule;
  } catch (e) {
    throw new BackendError(
      `cannot load Dawn (the "webgpu" package): ${(e as Error).message}. Run \`npm install\` or use the cpu backend`,
    );
  }
  const reasons: string[] = [];
  // Without a Vulkan loader Dawn would only print "Couldn't load Vulkan" on stderr: skip it.
  const { vulkanLoaderPresent } = await import("./vulkan-probe.js");
  if (!vulkanLoaderPresent()) reasons.push("no Vulkan loader (libvulkan.so.1) found");
  else {
    try {
      const toggles = ["allow_unsafe_apis", "vulkan_enable_f16_on_nvidia", ...extraDawnToggles()];
      // timestamp_quantization (on in browsers, against timing attacks) would round the profiler's
      // per-dispatch GPU times (Runtime.startProfiling) to coarse steps
      const gpu = dawn.create([
        `enable-dawn-features=${toggles.join(",")}`,
        "disable-dawn-features=timestamp_quantization",
      ]);
      instances.push(gpu);
      const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
      if (adapter) return { adapter, detail: nodeBackendName() };
      reasons.push("no default (Vulkan/Metal/D3D12) adapter");
    } catch (e) {
      reasons.push(`default adapter failed: ${(e as Error).message}`);
    }
  }
  try {
    const gpu = dawn.create(["backend=opengles"]);
    instances.push(gpu);
    const adapter = await gpu.requestAdapter({ featureLevel: "compatibility" } as GPURequestAdapterOptions);
    if (adapter) {
      const name = adapterName(adapter.info);
      return { adapter, detail: `opengles (${/llvmpipe/i.test(name) ? "llvmpipe" : name})` };
    }
    reasons.push("no OpenGL ES adapter (install Mesa: libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri)");
  } catch (e) {
    reasons.push(`OpenGL ES adapter failed: ${(e as Error).message}`);
  }
  throw new BackendError(`no WebGPU adapter here: ${reasons.join("; ")}. Use the cpu backend`);
}

function adapterName(info: GPUAdapterInfo): string {
  const dev = (info.device ?? "").replace(/-+$/, "");
  if (/llvmpipe/i.test(dev)) return "llvmpipe";
  return (
    dev || info.description || [info.vendor, info.architecture].filter(Boolean).join(" ") || "unknown gpu"
  );
}

/** Acquires an adapter and device; device loss and errors are wired up by the runtime. */
export async function acquireGpu(): Promise<GpuContext> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  let adapter: GPUAdapter;
  let detail: string;
  if (nav?.gpu) {
    // a browser (or any WebGPU implementation installed as navigator.gpu): core first, then the
    // compatibility feature level (GPUs and drivers that only run OpenGL ES-class WebGPU)
    const a =
      (await nav.gpu.requestAdapter({ powerPreference: "high-performance" })) ??
      (await nav.gpu.requestAdapter({ featureLevel: "compatibility" } as GPURequestAdapterOptions));
    if (!a) throw new BackendError("navigator.gpu gave no adapter: enable WebGPU or use the cpu backend");
    adapter = a;
    detail = "navigator.gpu";
  } else if (typeof process !== "undefined" && process.versions?.node) {
    ({ adapter, detail } = await nodeAdapter());
  } else {
    throw new BackendError("WebGPU is not available in this environment: use the cpu backend");
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const al = adapter.limits as unknown as Record<string, number>;
  const requiredLimits: Record<string, number> = {};
  for (const k of [...MAX_LIMITS, ...MIN_LIMITS]) {
    const v = al[k];
    if (typeof v === "number") requiredLimits[k] = v;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    throw new BackendError(`requestDevice failed on ${adapterName(adapter.info)}: ${(e as Error).message}`);
  }
  const dl = device.limits as unknown as Record<string, number>;
  const limits: Record<string, number> = {};
  for (const k of [...MAX_LIMITS, ...MIN_LIMITS]) {
    const v = dl[k];
    if (typeof v === "number") limits[k] = v;
  }
  return {
    device,
    adapter,
    deviceName: adapterName(adapter.info),
    detail,
    features: [...device.features].map(String).sort(),
    limits,
  };
}
