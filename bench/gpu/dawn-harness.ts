// Private standalone Dawn harness for kernel development and GPU benchmarks: creates a device
// directly (llvmpipe via OpenGL ES, or Vulkan on a real GPU), uploads arrays, runs one compute
// pipeline with (uniform, storage...) bindings, and reads back. Not the project's runtime.
/// <reference types="@webgpu/types" />

export interface Harness {
  /** Keeps the Dawn instance alive: if it is garbage-collected the device dies mid-run (crash). */
  gpu: GPU;
  device: GPUDevice;
  adapterName: string;
  limits: GPUSupportedLimits;
  features: string[];
  buffer(data: ArrayBufferView | number, usage?: number): GPUBuffer;
  pipeline(key: string, source: () => string): GPUComputePipeline;
  /** Encodes one dispatch (binding 0 = uniform params, 1.. = storage buffers) into `pass`. */
  dispatch(
    pass: GPUComputePassEncoder,
    pipe: GPUComputePipeline,
    params: ArrayBuffer,
    buffers: GPUBuffer[],
    wg: [number, number, number],
  ): void;
  run(
    pipe: GPUComputePipeline,
    params: ArrayBuffer,
    buffers: GPUBuffer[],
    wg: [number, number, number],
  ): Promise<void>;
  read(buf: GPUBuffer): Promise<ArrayBuffer>;
}

export interface HarnessOptions {
  /** Dawn toggles, e.g. ["allow_unsafe_apis", "vulkan_enable_f16_on_nvidia", "disable_robustness"]. */
  toggles?: string[];
  features?: GPUFeatureName[];
}

export async function createHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const gpuLike = process.env.VK_DRIVER_FILES !== undefined;
  if (!gpuLike) process.env.EGL_PLATFORM = "surfaceless";
  const { create, globals } = (await import("webgpu")) as unknown as {
    create: (flags: string[]) => GPU;
    globals: Record<string, unknown>;
  };
  Object.assign(globalThis, globals);
  const flags: string[] = gpuLike ? ["backend=vulkan"] : ["backend=opengles"];
  if (process.env.DAWN_FLAGS) flags.push(...process.env.DAWN_FLAGS.split(" "));
  if (opts.toggles?.length) flags.push(`enable-dawn-features=${opts.toggles.join(",")}`);
  const gpu = create(flags);
  const adapter = await gpu.requestAdapter(
    gpuLike
      ? { powerPreference: "high-performance" }
      : ({ featureLevel: "compatibility" } as GPURequestAdapterOptions),
  );
  if (!adapter) throw new Error("no WebGPU adapter");
  const requiredLimits: Record<string, number> = {};
  for (const k of [
    "maxComputeWorkgroupStorageSize",
    "maxComputeInvocationsPerWorkgroup",
    "maxComputeWorkgroupSizeX",
    "maxComputeWorkgroupSizeY",
    "maxStorageBufferBindingSize",
    "maxBufferSize",
    "maxStorageBuffersPerShaderStage",
  ]) {
    requiredLimits[k] = (adapter.limits as unknown as Record<string, number>)[k] as number;
  }
  const features = (opts.features ?? []).filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures: features });
  device.addEventListener("uncapturederror", (e) => {
    console.error("WebGPU error:", (e as GPUUncapturedErrorEvent).error.message);
  });
  const info = adapter.info;
  const cache = new Map<string, GPUComputePipeline>();
  const h: Harness = {
    gpu,
    device,
    adapterName: `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.trim(),
    limits: device.limits,
    features: [...device.features],
    buffer(data, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST) {
      const size = typeof data === "number" ? data : data.byteLength;
      const buf = device.createBuffer({ size: Math.max(16, Math.ceil(size / 16) * 16), usage });
      if (typeof data !== "number") device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, size);
      return buf;
    },
    pipeline(key, source) {
      let p = cache.get(key);
      if (!p) {
        const module = device.createShaderModule({ code: source() });
        p = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
        cache.set(key, p);
      }
      return p;
    },
    dispatch(pass, pipe, params, buffers, wg) {
      const ub = device.createBuffer({
        size: Math.ceil(params.byteLength / 16) * 16,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      device.queue.writeBuffer(ub, 0, params);
      const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: ub } }];
      buffers.forEach((b, i) => {
        entries.push({ binding: i + 1, resource: { buffer: b } });
      });
      const bg = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries });
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bg);
      pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
    },
    async run(pipe, params, buffers, wg) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      h.dispatch(pass, pipe, params, buffers, wg);
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
    },
    async read(buf) {
      const st = device.createBuffer({
        size: buf.size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(buf, 0, st, 0, buf.size);
      device.queue.submit([enc.finish()]);
      await st.mapAsync(GPUMapMode.READ);
      const out = st.getMappedRange().slice(0);
      st.unmap();
      st.destroy();
      return out;
    },
  };
  return h;
}
