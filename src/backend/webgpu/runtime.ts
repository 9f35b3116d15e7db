// The WebGPU runtime: buffers, one command encoder + compute pass that accumulates dispatches
// (params in params-ring.ts, bind groups cached by bind-groups.ts, pipelines by pipelines.ts),
// scratch buffers, capture/replay of dispatch runs (tape.ts), and byte-level transfers.
// It knows tensors (buffer, offset, shape, dtype) but no op semantics; ops live in ops/*.ts.
//
// Ops call rt.dispatch(DispatchOptions) (the fields' docs below) and rt.scratch(numel, dtype) for a
// pooled tensor valid until the end of the current op. Dispatches run in call order with implicit
// barriers. Work is submitted on read()/sync()/write(), when the params ring is full, or every
// `submitEvery` dispatches (at op boundaries). Errors surface as BackendError on the next call.
/// <reference types="@webgpu/types" />
import { BackendError, ShapeError } from "../../errors.js";
import type { DeviceBuffer, DType, Tensor } from "../tensor.js";
import { bytesPerElement, numel } from "../tensor.js";
import { bindRange, planAliasing, type Range } from "./bind-ranges.js";
import { BufferPool } from "./buffer-pool.js";
import { BufferUsage, type GpuContext, MAP_MODE_READ } from "./device.js";
import { BindGroupCache } from "./bind-groups.js";
import { workgroupGrid } from "./grid.js";
import { ParamsRing } from "./params-ring.js";
import { type KernelSource, PipelineCache } from "./pipelines.js";
import type { PassTimer } from "./pass-timer.js";
import { type DispatchProfiler, dispatchLabel } from "./profiler.js";
import { type Tape, TapeRecorder } from "./tape.js";

export { f32, i32, packParams } from "./params.js";

const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/** A buffer owned by this runtime (user buffers and pooled scratch). */
export class WgBuffer implements DeviceBuffer {
  destroyed = false;
  /** Bumped whenever a dispatch binds it writable or the host writes it (for derived caches). */
  version = 0;
  constructor(
    readonly id: number,
    readonly size: number,
    readonly dtype: DType,
    readonly label: string,
    readonly gpu: GPUBuffer,
    readonly owner: Runtime,
  ) {}
}

/** One dispatch. key/source: a cache key and the WGSL text (or a thunk); kernels/*.wgsl through
 *  `kernel("name")` (kernel-source.ts, kernels/common.wgsl prepended). */
export interface DispatchOptions extends KernelSource {
  entry?: string;
  /** Values of the kernel's `override NAME: T = d;` declarations, substituted as `const` text
   *  (pipelines.ts specialize), so they may size workgroup arrays. */
  constants?: Record<string, number>;
  /** bindings[i] is bound at @binding(i + 1) as var<storage, read | read_write> (the access read
   *  from the WGSL; at most limits.maxStorageBuffersPerShaderStage, 8 on llvmpipe), as the byte
   *  range of its buffer from the aligned-down view start. One buffer bound writable and also
   *  elsewhere: a variant with all storage read_write, overlapping read inputs copied to scratch. */
  bindings: readonly Tensor[];
  /** @binding(0) var<uniform> p: Params, at most 256 bytes (`packParams([n, f32(a)])` helps). */
  params?: ArrayBuffer | ArrayBufferView;
  /** Params words that receive each binding's element offset within its range (f16/bf16 count
   *  halves). Without them whole buffers are bound and t.offset stays valid (more aliasing copies). */
  offsetWords?: readonly number[];
  /** [x, y, z] (each <= maxComputeWorkgroupsPerDimension) or n, split into [min(n, 65535),
   *  ceil(n / 65535), 1]: kernels then use common.wgsl's `linear_wg(wid, nwg)` and return past n. */
  workgroups: number | readonly [number, number?, number?];
}

export interface RuntimeStats {
  dispatches: number;
  submits: number;
  bindGroupsCreated: number;
  shadowCopies: number;
  /** Host reads (readWords: one staging copy + mapAsync each) and host writes (writeBytes). */
  reads: number;
  writes: number;
  /** Tapes replayed (each stands for its dispatches, which `dispatches` also counts). */
  replays: number;
}

export class Runtime {
  readonly device: GPUDevice;
  readonly limits: Record<string, number>;
  readonly features: ReadonlySet<string>;
  readonly pool: BufferPool;
  readonly stats: RuntimeStats = {
    dispatches: 0,
    submits: 0,
    bindGroupsCreated: 0,
    shadowCopies: 0,
    reads: 0,
    writes: 0,
    replays: 0,
  };
  /** performance.now() of the last queue.submit call and of the last readback's mapAsync resolving
   *  (host-side step breakdowns, e.g. `bench decode`); one clock read per submit and per read. */
  readonly marks = { submit: 0, mapResolved: 0 };
  /** Submit at an op boundary once this many dispatches are pending. */
  submitEvery = 256;
  /** Backend.replayable replays tapes (false: runs the ops every time; for benchmarks and tests). */
  replayEnabled = true;
  private readonly pipelines: PipelineCache;
  private readonly bindGroups: BindGroupCache;
  private nextId = 1;
  private failure: string | null = null;
  private disposed = false;
  private readonly lost: Promise<void>;
  private enc: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pendingDispatches = 0;
  /** The dispatches' params (public for its upload count). */
  readonly ring: ParamsRing;
  private live: GPUBuffer[] = [];
  private scopes: Promise<void>[] = [];
  private readonly constants = new Map<string, Tensor>();
  /** Set while capture() runs. */
  private recorder: TapeRecorder | null = null;
  /** Set between startProfiling() and stopProfiling(): one timed pass per dispatch. */
  private profiler: DispatchProfiler | null = null;
  /** Set between startGpuTimer() and stopGpuTimer(): timestamps around every compute pass. */
  private passTimer: PassTimer | null = null;

  constructor(readonly ctx: GpuContext) {
    this.device = ctx.device;
    this.limits = ctx.limits;
    this.features = new Set(ctx.features);
    this.pool = new BufferPool(this.device);
    this.pipelines = new PipelineCache(this.device, (m) => this.fail(m));
    this.device.onuncapturederror = (ev) => this.fail(ev.error.message);
    this.lost = this.device.lost.then((info) => {
      if (!this.disposed) this.fail(`device lost (${info.reason}): ${info.message}`);
    });
    this.ring = new ParamsRing(this.device, this.limits.minUniformBufferOffsetAlignment ?? 256);
    this.bindGroups = new BindGroupCache(this.device, this.ring.buffer, () => this.stats.bindGroupsCreated++);
  }

  private fail(message: string): void {
    this.failure ??= message;
  }

  /** Throws the first recorded device error, if any. */
  assertHealthy(): void {
    if (this.disposed) throw new BackendError("the webgpu backend was disposed: create a new one");
    if (this.failure) throw new BackendError(`webgpu error: ${this.failure}`);
  }

  hasFeature(name: string): boolean {
    return this.features.has(name);
  }

  // ---- buffers --------------------------------------------------------------------------------
  createBuffer(size: number, dtype: DType, label = "buffer"): WgBuffer {
    this.assertHealthy();
    if (!Number.isInteger(size) || size < 0)
      throw new ShapeError(`buffer "${label}" size ${size} is invalid`);
    const bytes = Math.max(4, Math.ceil((size * bytesPerElement(dtype)) / 4) * 4);
    const max = this.limits.maxBufferSize ?? 2 ** 28;
    if (bytes > max) {
      throw new BackendError(
        `buffer "${label}" needs ${bytes} bytes, over this device's maxBufferSize ${max}: split it`,
      );
    }
    const gpu = this.device.createBuffer({ size: bytes, usage: STORAGE_USAGE, label });
    return new WgBuffer(this.nextId++, size, dtype, label, gpu, this);
  }

  destroyBuffer(b: DeviceBuffer): void {
    const w = this.own(b, "destroyBuffer");
    if (w.destroyed) return;
    // Commands already recorded may still use it: submit them first (destroy waits for the GPU).
    this.flush();
    w.destroyed = true;
    w.gpu.destroy();
  }

  /** The runtime buffer behind `b`, checked to be ours and alive. */
  own(b: DeviceBuffer, what: string): WgBuffer {
    if (!(b instanceof WgBuffer) || b.owner !== this) {
      throw new BackendError(`${what}: buffer "${b.label}" was not created by this webgpu backend`);
    }
    if (b.destroyed) throw new BackendError(`${what}: buffer "${b.label}" was destroyed`);
    return b;
  }

  /** Checks that `t` is a valid view of one of our buffers; returns the buffer. */
  check(t: Tensor, what: string): WgBuffer {
    const b = this.own(t.buffer, what);
    const n = numel(t.shape);
    if (t.dtype !== b.dtype) {
      throw new ShapeError(
        `${what}: view dtype ${t.dtype} differs from buffer "${b.label}" dtype ${b.dtype}`,
      );
    }
    if (!Number.isInteger(t.offset) || t.offset < 0 || t.offset + n > b.size) {
      throw new ShapeError(
        `${what}: view [${t.shape}] at offset ${t.offset} needs ${t.offset + n} elements but buffer "${b.label}" has ${b.size}`,
      );
    }
    return b;
  }

  /** A pooled tensor valid until the end of the current op (see beginOp). Contents undefined;
   *  write it only with dispatches or writeBytes (which flushes first). */
  scratch(n: number, dtype: DType, label = "scratch"): Tensor {
    const bytes = Math.max(4, Math.ceil((n * bytesPerElement(dtype)) / 4) * 4);
    const gpu = this.pool.acquire(bytes, STORAGE_USAGE, label);
    this.live.push(gpu);
    const b = new WgBuffer(this.nextId++, n, dtype, label, gpu, this);
    return { buffer: b, offset: 0, shape: [n], dtype };
  }

  /** A small read-only f32 table kept for the runtime's life (e.g. rope frequencies), by key. */
  constant(key: string, make: () => Float32Array): Tensor {
    let t = this.constants.get(key);
    if (!t) {
      const data = make();
      const b = this.createBuffer(data.length, "f32", `const ${key}`);
      // A fresh buffer is used by no recorded command, so no flush is needed before writing it.
      this.device.queue.writeBuffer(b.gpu, 0, data.buffer, data.byteOffset, data.byteLength);
      t = { buffer: b, offset: 0, shape: [data.length], dtype: "f32" };
      this.constants.set(key, t);
    }
    return t;
  }

  /**
   * Marks an op boundary: the previous op's scratch goes back to the pool (a later dispatch may reuse
   * it even in the same command buffer: dispatches run in order; host writes into pooled buffers
   * flush first). Submits if many dispatches are pending.
   */
  beginOp(): void {
    this.assertHealthy();
    if (this.recorder) this.recorder.owned.push(...this.live);
    else for (const b of this.live) this.pool.release(b);
    this.live = [];
    if (this.pendingDispatches >= this.submitEvery && !this.recorder) this.flush();
  }

  // ---- encoding -------------------------------------------------------------------------------
  private encoder(): GPUCommandEncoder {
    if (!this.enc) {
      this.device.pushErrorScope("validation");
      this.device.pushErrorScope("out-of-memory");
      this.enc = this.device.createCommandEncoder({ label: "crosslayer ops" });
    }
    return this.enc;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  private computePass(): GPUComputePassEncoder {
    this.pass ??= this.encoder().beginComputePass(this.passTimer?.pass());
    return this.pass;
  }

  /** A pass of its own for one dispatch, timed by the profiler. */
  private timedPass(profiler: DispatchProfiler, label: string): GPUComputePassEncoder {
    this.endPass();
    this.pass = this.encoder().beginComputePass(profiler.pass(label));
    return this.pass;
  }

  // ---- profiling (webgpu-backend.ts start/stop) ------------------------------------------------
  /** Attaches the dispatch profiler (a timed pass per dispatch) or the pass timer (every compute
   *  pass timed whole), or with nulls neither; submits what was recorded before. */
  setTiming(profiler: DispatchProfiler | null, passTimer: PassTimer | null = null): void {
    this.assertHealthy();
    this.flush();
    this.profiler = profiler;
    this.passTimer = passTimer;
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.enc) return;
    this.recorder?.abort(
      "a submit inside the captured ops (a host read or write, a destroyed buffer, or a full params ring)",
    );
    this.endPass();
    this.ring.upload(this.device.queue);
    this.passTimer?.resolve(this.enc);
    const timed = this.profiler?.resolve(this.enc) ?? null;
    const commands = this.enc.finish();
    this.marks.submit = performance.now();
    this.device.queue.submit([commands]);
    timed?.();
    this.enc = null;
    this.stats.submits++;
    const record = (e: GPUError | null) => {
      if (e) this.fail(e.message);
    };
    this.scopes.push(this.device.popErrorScope().then(record), this.device.popErrorScope().then(record));
    this.pendingDispatches = 0;
  }

  /** Copies r to a pooled buffer (so it no longer overlaps); returns a copy-back if writable. */
  private shadow(r: Range, t: Tensor, writable: boolean): (() => void) | null {
    this.recorder?.abort("an aliasing copy");
    const copy = this.pool.acquire(r.size, STORAGE_USAGE, "alias copy");
    this.live.push(copy);
    this.endPass();
    this.encoder().copyBufferToBuffer(r.buf, r.start, copy, 0, r.size);
    this.stats.shadowCopies++;
    const src = r.buf;
    const start = r.start;
    r.buf = copy;
    r.start = 0;
    if (!writable) return null;
    const bpe = bytesPerElement(t.dtype);
    const from = r.rel * bpe;
    const len = numel(t.shape) * bpe;
    if ((start + from) % 4 || len % 4) {
      throw new BackendError(
        `two outputs of one op overlap at odd 16-bit offsets in one buffer: allocate them apart`,
      );
    }
    return () => {
      this.endPass();
      this.encoder().copyBufferToBuffer(copy, from, src, start + from, len);
    };
  }

  dispatch(o: DispatchOptions): void {
    this.assertHealthy();
    const n = o.bindings.length;
    const maxStorage = this.limits.maxStorageBuffersPerShaderStage ?? 8;
    if (n > maxStorage) {
      throw new BackendError(
        `kernel ${o.key} binds ${n} storage buffers, over this device's limit ${maxStorage}`,
      );
    }
    const wg = workgroupGrid(o.key, o.workgroups, this.limits.maxComputeWorkgroupsPerDimension ?? 65535);
    if (wg[0] === 0 || wg[1] === 0 || wg[2] === 0) return;
    const declared = this.pipelines.declaredWritable(o, n);
    const lim = {
      align: this.limits.minStorageBufferOffsetAlignment ?? 256,
      maxBinding: this.limits.maxStorageBufferBindingSize ?? 2 ** 27,
    };
    const ranges = o.bindings.map((t, i) => {
      const b = this.check(t, `kernel ${o.key}`);
      if (declared[i]) b.version++;
      return bindRange(t, b.gpu, b.label, lim, !o.offsetWords);
    });
    const { shadows, aliased } = planAliasing(ranges, declared);
    const copyBacks: (() => void)[] = [];
    for (const v of shadows) {
      const cb = this.shadow(ranges[v]!, o.bindings[v]!, declared[v]!);
      if (cb) copyBacks.push(cb);
    }
    const staticParams = this.recorder?.staticParams ?? false; // see Tape.offsetArgs
    const pe = this.pipelines.get(o, n, {
      aliased,
      staticParams,
      ...(o.entry ? { entry: o.entry } : {}),
      ...(o.constants ? { constants: o.constants } : {}),
    });
    if (this.ring.full) this.flush();
    const base = this.ring.write(`kernel ${o.key}`, o.params, o.offsetWords, ranges);
    const label = this.profiler || this.recorder ? dispatchLabel(o.key, o.entry, o.constants) : o.key;
    const pass = this.profiler ? this.timedPass(this.profiler, label) : this.computePass();
    const bg = this.bindGroups.get(pe.layout, pe.layoutKey, ranges, staticParams ? base : 0);
    pass.setPipeline(pe.pipeline);
    if (staticParams) pass.setBindGroup(0, bg);
    else pass.setBindGroup(0, bg, [base]);
    pass.dispatchWorkgroups(wg[0], wg[1], wg[2]);
    if (this.recorder) {
      const bufs = o.bindings.map((t) => t.buffer as WgBuffer);
      this.recorder.add(pe.pipeline, bg, base, wg, bufs, declared, label);
    }
    this.pendingDispatches++;
    this.stats.dispatches++;
    for (const cb of copyBacks) cb();
  }

  // ---- capture and replay ---------------------------------------------------------------------
  /**
   * Runs `ops` (which records dispatches as usual) and also captures them as a Tape, or returns
   * tape null with the reason when they did something a tape cannot repeat (a submit, a host
   * transfer, an aliasing copy). The captured work itself is recorded normally either way.
   * `staticParams`: bind each dispatch's params at its ring slot (Tape.offsetArgs). */
  capture<T>(ops: () => T, staticParams = false): { value: T; tape: Tape | null; reason?: string } {
    this.assertHealthy();
    if (this.recorder) throw new BackendError("capture() inside capture(): finish the outer one first");
    this.beginOp();
    if (this.ring.used) this.flush(); // a tape's params live at ring slots [0, count)
    const rec = new TapeRecorder(staticParams);
    this.recorder = rec;
    let value: T;
    try {
      value = ops();
    } finally {
      this.recorder = null;
      rec.owned.push(...this.live);
      this.live = [];
    }
    if (rec.aborted !== null || rec.pipelines.length === 0) {
      for (const b of rec.owned) this.pool.release(b);
      return { value, tape: null, reason: rec.aborted ?? "no dispatches" };
    }
    return { value, tape: rec.finish(this.ring.snapshot()) };
  }

  /** Records the tape's dispatches again (same pipelines, bind groups, params), without running
   *  the ops that made it. False (nothing recorded) when a buffer it binds has been destroyed. */
  replay(tape: Tape): boolean {
    this.assertHealthy();
    if (tape.bound.some((b) => b.destroyed)) return false;
    this.beginOp();
    if (this.ring.used) this.flush();
    this.ring.load(tape.ring, tape.count);
    const prof = this.profiler;
    let pass = this.computePass();
    let last: GPUComputePipeline | null = null;
    const { workgroups: wg, pipelines, bindGroups, offsetArgs: args } = tape;
    // the fewest arguments per call (each crosses into Dawn's Node binding); y = z = 1: x alone
    for (let i = 0; i < tape.count; i++) {
      const p = pipelines[i]!;
      if (prof) {
        pass = this.timedPass(prof, tape.labels[i]!);
        last = null;
      }
      if (p !== last) pass.setPipeline(p);
      last = p;
      if (args) pass.setBindGroup(0, bindGroups[i]!, args[i]!);
      else pass.setBindGroup(0, bindGroups[i]!);
      if (wg[3 * i + 1]! * wg[3 * i + 2]! === 1) pass.dispatchWorkgroups(wg[3 * i]!);
      else pass.dispatchWorkgroups(wg[3 * i]!, wg[3 * i + 1]!, wg[3 * i + 2]!);
    }
    for (const b of tape.written) b.version++;
    this.pendingDispatches += tape.count;
    this.stats.dispatches += tape.count;
    this.stats.replays++;
    return true;
  }

  /** Returns a tape's scratch buffers to the pool (call once, when the tape is dropped). */
  releaseTape(tape: Tape): void {
    for (const b of tape.owned) this.pool.release(b);
  }

  // ---- transfers ------------------------------------------------------------------------------
  /** Writes raw bytes at a 4-byte aligned byte offset of t's buffer, after all enqueued work. */
  writeBytes(t: Tensor, byteOffset: number, bytes: Uint8Array): void {
    const b = this.check(t, "write");
    b.version++;
    this.flush();
    this.stats.writes++;
    this.device.queue.writeBuffer(b.gpu, byteOffset, bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Reads the 4-byte aligned words covering t; `first` is t's first element within them. */
  async readWords(t: Tensor): Promise<{ bytes: ArrayBuffer; first: number }> {
    const b = this.check(t, "read");
    this.beginOp();
    this.stats.reads++;
    const bpe = bytesPerElement(t.dtype);
    const start = Math.floor((t.offset * bpe) / 4) * 4;
    const end = Math.max(start + 4, Math.ceil(((t.offset + numel(t.shape)) * bpe) / 4) * 4);
    const size = end - start;
    const staging = this.pool.acquire(size, BufferUsage.MAP_READ | BufferUsage.COPY_DST, "staging");
    this.endPass();
    this.encoder().copyBufferToBuffer(b.gpu, start, staging, 0, size);
    this.flush();
    const mapped = staging.mapAsync(MAP_MODE_READ, 0, size).then(() => {
      this.marks.mapResolved = performance.now();
    });
    await this.settle(mapped);
    const bytes = staging.getMappedRange(0, size).slice(0);
    staging.unmap();
    this.pool.release(staging);
    return { bytes, first: (t.offset * bpe - start) / bpe };
  }

  /** Waits for `p` (or device loss), then for error scopes; throws the first device error. */
  private async settle(p: Promise<unknown>): Promise<void> {
    let err: unknown = null;
    await Promise.race([p.catch((e) => (err = e)), this.lost]);
    const scopes = this.scopes;
    this.scopes = [];
    await Promise.all(scopes);
    this.assertHealthy();
    if (err) throw new BackendError(`webgpu transfer failed: ${(err as Error).message ?? String(err)}`);
  }

  async sync(): Promise<void> {
    this.beginOp();
    this.flush();
    await this.settle(this.device.queue.onSubmittedWorkDone());
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.bindGroups.clear();
    this.pool.destroyAll();
    this.ring.destroy();
    this.device.destroy();
  }
}
