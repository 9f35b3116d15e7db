// GPU busy time of whole compute passes: while a pass timer is attached, every compute pass the
// runtime opens gets timestamp writes at its beginning and end (the `timestamp-query` feature), and
// each submit resolves its passes' pairs and copies them to the end of one accumulating buffer,
// read once when timing stops. Unlike the dispatch profiler (profiler.ts, one pass per dispatch) it
// leaves the passes as they are: a decode step stays one pass of ~50 dispatches with two timestamp
// writes, so timed steps run as untimed ones do. `bench decode --gpu-time` divides the sum by the
// steps: the GPU's time per step beside the host clock's.
/// <reference types="@webgpu/types" />
import type { GpuTime } from "../backend.js";
import { BufferUsage, MAP_MODE_READ } from "./device.js";
import { timestampQueries } from "./profiler.js";

export class PassTimer {
  private readonly set: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  /** (capacity, 2) u64 timestamps, appended submit by submit; mapped once by read(). */
  private readonly acc: GPUBuffer;
  /** Passes opened in the commands not yet submitted (query pair i = 2i, 2i + 1). */
  private open = 0;
  /** Passes resolved into `acc` so far. */
  private stored = 0;
  private untimed = 0;

  constructor(
    device: GPUDevice,
    features: ReadonlySet<string>,
    /** Passes timed in all. */
    readonly capacity = 65536,
    /** Passes timed per submit. */
    readonly perSubmit = 256,
  ) {
    ({ set: this.set, resolveBuf: this.resolveBuf } = timestampQueries(device, features, perSubmit, {
      label: "pass timing",
      flag: "--gpu-time",
    }));
    this.acc = device.createBuffer({
      size: 16 * capacity,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      label: "pass timer samples",
    });
  }

  /** The descriptor of the next compute pass (untimed when a buffer is full). */
  pass(): GPUComputePassDescriptor {
    const i = this.open;
    if (i >= this.perSubmit || this.stored + i >= this.capacity) {
      this.untimed++;
      return {};
    }
    this.open++;
    return {
      timestampWrites: {
        querySet: this.set,
        beginningOfPassWriteIndex: 2 * i,
        endOfPassWriteIndex: 2 * i + 1,
      },
    };
  }

  /** Encodes this submit's resolve and its copy into the samples (call after the last pass ends). */
  resolve(enc: GPUCommandEncoder): void {
    const n = this.open;
    if (n === 0) return;
    this.open = 0;
    enc.resolveQuerySet(this.set, 0, 2 * n, this.resolveBuf, 0);
    enc.copyBufferToBuffer(this.resolveBuf, 0, this.acc, 16 * this.stored, 16 * n);
    this.stored += n;
  }

  /** The total over every resolved pass; call after the work that resolved them was submitted. */
  async read(): Promise<GpuTime> {
    const passes = this.stored;
    let ms = 0;
    let timed = 0;
    if (passes > 0) {
      await this.acc.mapAsync(MAP_MODE_READ, 0, 16 * passes);
      const t = new BigUint64Array(this.acc.getMappedRange(0, 16 * passes).slice(0));
      this.acc.unmap();
      for (let i = 0; i < passes; i++) {
        const ns = t[2 * i + 1]! - t[2 * i]!;
        // a pass the driver could not time reads as 0 or wraps: keep only sane durations
        if (ns > 0n && ns < 10_000_000_000n) {
          ms += Number(ns) / 1e6;
          timed++;
        }
      }
    }
    return { ms, passes: timed, untimed: this.untimed + passes - timed };
  }

  destroy(): void {
    this.set.destroy();
    this.resolveBuf.destroy();
    this.acc.destroy();
  }
}
