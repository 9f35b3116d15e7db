// CPU backend entry: `createCpuBackend({ precision, threads })`. "f64" is the exact oracle tests
// compare against (Float64Array buffers, reference kernels); "f32" (default) keeps every buffer in
// one shared WebAssembly.Memory and runs matmul on the wasm SIMD kernels when they load.
import { availableParallelism, cpus } from "node:os";
import { ConfigError } from "../../errors.js";
import type { Backend, BackendInfo } from "../backend.js";
import type { BackendOptions } from "../registry.js";
import { CpuBackend } from "./cpu-backend.js";
import { MAX_PAGES, SharedHeap } from "./heap.js";
import { F64Store } from "./store-f64.js";
import { HeapStore } from "./store-heap.js";
import { loadKernels } from "./wasm-bridge.js";
import { verifyKernels, type WasmSupport } from "./wasm-selftest.js";

const NO_WASM: WasmSupport = {
  matmul: false,
  attention: false,
  attentionBackward: false,
  crossEntropy: false,
  swiglu: false,
  rmsnorm: false,
  rope: false,
  adamw: false,
  elementwise: false,
};

function cpuModel(): string {
  return cpus()[0]?.model.trim() || "unknown CPU";
}

export interface CpuBackendOptions extends BackendOptions {
  /** false runs every op on the TypeScript kernels even when the wasm kernels load (tests use it). */
  wasm?: boolean;
}

export async function createCpuBackend(opts: CpuBackendOptions = {}): Promise<Backend> {
  const precision = opts.precision ?? "f32";
  if (precision !== "f32" && precision !== "f64") {
    throw new ConfigError(`cpu precision "${String(precision)}" is not supported: use "f32" or "f64"`);
  }
  const threads = opts.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ConfigError(`cpu threads ${threads} must be a positive integer`);
  }
  if (precision === "f64") {
    const info: BackendInfo = {
      name: "cpu",
      device: cpuModel(),
      detail: "f64 reference",
      features: ["f64-reference"],
      limits: { maxBufferBytes: 2 ** 31 * 8 - 8, maxThreads: 1 },
    };
    return new CpuBackend({ store: new F64Store(), kernels: null, support: NO_WASM, info });
  }
  const heap = new SharedHeap();
  const { kernels, reason } =
    opts.wasm === false
      ? { kernels: null, reason: "disabled by option" }
      : await loadKernels(heap.memory, threads);
  heap.init(kernels?.reservedBytes ?? 0);
  const support = kernels ? verifyKernels(kernels, heap) : NO_WASM;
  const wasmOps = Object.entries(support)
    .filter(([, ok]) => ok)
    .map(([op]) => op);
  const features = kernels ? ["wasm-simd", ...kernels.features, ...wasmOps.map((op) => `wasm-${op}`)] : [];
  if (kernels && kernels.threads > 1 && !features.includes("threads")) features.push("threads");
  const detail = kernels
    ? `wasm-simd, ${kernels.threads} thread${kernels.threads === 1 ? "" : "s"} (wasm: ${wasmOps.join(", ") || "none"})`
    : `f32 typescript kernels (wasm kernels unavailable: ${reason})`;
  const info: BackendInfo = {
    name: "cpu",
    device: cpuModel(),
    detail,
    features,
    limits: {
      maxBufferBytes: MAX_PAGES * 65536 - (kernels?.reservedBytes ?? 0),
      maxThreads: kernels?.threads ?? 1,
    },
  };
  return new CpuBackend({ store: new HeapStore(heap), kernels, support, info });
}
