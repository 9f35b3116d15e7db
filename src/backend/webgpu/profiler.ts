// GPU time of every dispatch, by kernel: while a profiler is attached the runtime gives each
// dispatch its own compute pass with timestamp writes at the pass's beginning and end (the
// `timestamp-query` feature), resolves the queries when it submits, and the profiler sums the
// durations per kernel label. For finding where a step's GPU time goes (`bench decode --profile`);
// one pass per dispatch adds a little time between dispatches, so profiled runs are not timed runs.
/// <reference types="@webgpu/types" />
import { BackendError } from "../../errors.js";
import type { KernelTime } from "../backend.js";
import { BufferUsage, MAP_MODE_READ } from "./device.js";

const QUERY_RESOLVE = 0x200; // GPUBufferUsage.QUERY_RESOLVE

/**
 * A short label for a dispatch: the kernel file (no helpers or variant suffix), its entry point
 * when not `main`, and the override constants set to 1 except storage dtypes (the mode switches,
 * e.g. `paged_gemv[NORM,QKV]`).
 */
export function dispatchLabel(key: string, entry?: string, constants?: Record<string, number>): string {
  const base = key.split(/[+:]/)[0] ?? key;
  const flags = Object.entries(constants ?? {})
    .filter(([k, v]) => v === 1 && !k.startsWith("DT_"))
    .map(([k]) => k)
    .sort();
  return `${base}${entry && entry !== "main" ? `.${entry}` : ""}${flags.length ? `[${flags.join(",")}]` : ""}`;
}

/** Sums (label, duration) samples into per-label rows, largest total first. */
export function summarizeKernelTimes(samples: Iterable<readonly [string, number]>): KernelTime[] {
  const acc = new Map<string, KernelTime>();
  for (const [kernel, ms] of samples) {
    const row = acc.get(kernel) ?? { kernel, dispatches: 0, ms: 0 };
    row.dispatches++;
    row.ms += ms;
    acc.set(kernel, row);
  }
  return [...acc.values()].sort((a, b) => b.ms - a.ms || a.kernel.localeCompare(b.kernel));
}

/**
 * A timestamp query set of `pairs` begin/end pairs and the buffer its queries resolve into (the
 * dispatch profiler's and the pass timer's), or a clear error naming `flag` without the feature.
 */
export function timestampQueries(
  device: GPUDevice,
  features: ReadonlySet<string>,
  pairs: number,
  what: { label: string; flag: string },
): { set: GPUQuerySet; resolveBuf: GPUBuffer } {
  if (!features.has("timestamp-query")) {
    throw new BackendError(
      `GPU ${what.label} needs the timestamp-query feature, which this adapter does not expose: run without ${what.flag}`,
    );
  }
  return {
    set: device.createQuerySet({ type: "timestamp", count: 2 * pairs, label: what.label }),
    resolveBuf: device.createBuffer({
      size: 16 * pairs,
      usage: QUERY_RESOLVE | BufferUsage.COPY_SRC,
      label: `${what.label} resolve`,
    }),
  };
}

export class DispatchProfiler {
  private readonly set: GPUQuerySet;
  private readonly resolveBuf: GPUBuffer;
  /** Labels of the passes timed in the commands not yet submitted (query pair i = 2i, 2i + 1). */
  private labels: string[] = [];
  private readonly samples: [string, number][] = [];
  private pending: Promise<void>[] = [];
  /** Dispatches left untimed because the query set was full before a submit. */
  dropped = 0;

  constructor(
    private readonly device: GPUDevice,
    features: ReadonlySet<string>,
    /** Timed dispatches per submit. */
    readonly capacity = 2048,
  ) {
    ({ set: this.set, resolveBuf: this.resolveBuf } = timestampQueries(device, features, capacity, {
      label: "profiling",
      flag: "--profile",
    }));
  }

  /** The descriptor of the next dispatch's pass (untimed once the query set is full). */
  pass(label: string): GPUComputePassDescriptor {
    const i = this.labels.length;
    if (i >= this.capacity) {
      this.dropped++;
      return {};
    }
    this.labels.push(label);
    return {
      label,
      timestampWrites: {
        querySet: this.set,
        beginningOfPassWriteIndex: 2 * i,
        endOfPassWriteIndex: 2 * i + 1,
      },
    };
  }

  /**
   * Encodes the resolve of this submit's queries (call before `enc.finish()`); returns what to
   * call after the submit (it maps the copy and records the durations), or null if none were timed.
   */
  resolve(enc: GPUCommandEncoder): (() => void) | null {
    const labels = this.labels;
    if (labels.length === 0) return null;
    this.labels = [];
    const bytes = 16 * labels.length;
    const read = this.device.createBuffer({
      size: bytes,
      usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
      label: "profiler read",
    });
    enc.resolveQuerySet(this.set, 0, 2 * labels.length, this.resolveBuf, 0);
    enc.copyBufferToBuffer(this.resolveBuf, 0, read, 0, bytes);
    return () => {
      this.pending.push(
        read.mapAsync(MAP_MODE_READ).then(() => {
          const t = new BigUint64Array(read.getMappedRange().slice(0));
          read.unmap();
          read.destroy();
          for (let i = 0; i < labels.length; i++) {
            const ns = t[2 * i + 1]! - t[2 * i]!;
            // a pass the driver could not time reads as 0 or wraps: keep only sane durations
            if (ns >= 0n && ns < 10_000_000_000n) this.samples.push([labels[i]!, Number(ns) / 1e6]);
          }
        }),
      );
    };
  }

  /** Waits for every submitted resolve; then `table()` covers all work submitted so far. */
  async settle(): Promise<void> {
    const p = this.pending;
    this.pending = [];
    await Promise.all(p);
  }

  /** Per-kernel totals of the settled samples, largest first. */
  table(): KernelTime[] {
    return summarizeKernelTimes(this.samples);
  }

  /** Drops the samples collected so far (e.g. after a warm-up). */
  reset(): void {
    this.samples.length = 0;
    this.dropped = 0;
  }

  destroy(): void {
    this.set.destroy();
    this.resolveBuf.destroy();
  }
}
