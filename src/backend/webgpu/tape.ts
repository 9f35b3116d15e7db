// A tape: the dispatches a run of ops recorded once (pipeline, bind group, params-ring slot,
// workgroups) plus the params bytes they used, so the runtime can issue the same work again
// without running the ops' host code (Runtime.capture / Runtime.replay). Valid while every buffer
// it binds is alive; it keeps the pooled scratch buffers it used out of the pool for its life.
/// <reference types="@webgpu/types" />
import type { WgBuffer } from "./runtime.js";

export interface Tape {
  readonly count: number;
  /** Each dispatch's profiler label (profiler.ts dispatchLabel). */
  readonly labels: readonly string[];
  readonly pipelines: readonly GPUComputePipeline[];
  readonly bindGroups: readonly GPUBindGroup[];
  /** Each dispatch's params-ring byte offset as a one-element array, the setBindGroup argument
   *  replay passes (Dawn's Node binding takes a plain array faster than a typed array); null when
   *  the tape's bind groups hold their params at fixed offsets (`staticParams`: 0.55-0.7 us less
   *  host time per dispatch on the H100 machine, a little more GPU time). */
  readonly offsetArgs: readonly (readonly number[])[] | null;
  /** (count, 3) workgroup counts. */
  readonly workgroups: Uint32Array;
  /** The params ring's bytes [0, count x stride) as recorded. */
  readonly ring: Uint8Array;
  /** Buffers the dispatches write (their versions are bumped on replay). */
  readonly written: readonly WgBuffer[];
  /** Every buffer bound (a destroyed one invalidates the tape). */
  readonly bound: readonly WgBuffer[];
  /** Pooled scratch the dispatches use, held until the tape is released. */
  readonly owned: readonly GPUBuffer[];
}

/** What a capture collects while the ops run; `abort` records why it cannot become a tape. */
export class TapeRecorder {
  readonly labels: string[] = [];
  readonly pipelines: GPUComputePipeline[] = [];
  readonly bindGroups: GPUBindGroup[] = [];
  readonly offsets: number[] = [];
  readonly workgroups: number[] = [];
  readonly written = new Set<WgBuffer>();
  readonly bound = new Set<WgBuffer>();
  readonly owned: GPUBuffer[] = [];
  aborted: string | null = null;

  /** staticParams: bind each dispatch's params at its ring slot (no dynamic offsets). */
  constructor(readonly staticParams = false) {}

  abort(reason: string): void {
    this.aborted ??= reason;
  }

  add(
    pipeline: GPUComputePipeline,
    bindGroup: GPUBindGroup,
    offset: number,
    wg: readonly [number, number, number],
    buffers: readonly WgBuffer[],
    writable: readonly boolean[],
    label: string,
  ): void {
    this.labels.push(label);
    this.pipelines.push(pipeline);
    this.bindGroups.push(bindGroup);
    this.offsets.push(offset);
    this.workgroups.push(wg[0], wg[1], wg[2]);
    buffers.forEach((b, i) => {
      this.bound.add(b);
      if (writable[i]) this.written.add(b);
    });
  }

  /** The tape, given the params ring's slots [0, count) at the end of the capture. */
  finish(ring: Uint8Array): Tape {
    const count = this.pipelines.length;
    return {
      count,
      labels: this.labels,
      pipelines: this.pipelines,
      bindGroups: this.bindGroups,
      offsetArgs: this.staticParams ? null : this.offsets.map((o) => [o]),
      workgroups: Uint32Array.from(this.workgroups),
      ring,
      written: [...this.written],
      bound: [...this.bound],
      owned: this.owned,
    };
  }
}

/** The runtime calls a ReplayCache makes (Runtime implements them). */
export interface TapeRuntime {
  capture<T>(ops: () => T, staticParams?: boolean): { value: T; tape: Tape | null; reason?: string };
  replay(tape: Tape): boolean;
  releaseTape(tape: Tape): void;
}

interface Entry {
  tape: Tape | null;
  value: unknown;
  /** Captures of this key that could not become a tape. */
  failures: number;
}

/**
 * Tapes by key (Backend.replayable): replays a known key, captures a new one, recaptures when a
 * tape's buffers were replaced, and stops trying a key whose captures keep failing. Holds at most
 * `max` tapes (the least recently used one is dropped).
 */
export class ReplayCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly rt: TapeRuntime,
    private readonly max = 32,
  ) {}

  run<T>(key: string, ops: () => T, staticParams = false): T {
    const e = this.entries.get(key);
    if (e?.tape) {
      this.entries.delete(key);
      if (this.rt.replay(e.tape)) {
        this.entries.set(key, e); // most recently used last
        return e.value as T;
      }
      this.rt.releaseTape(e.tape);
    } else if (e && e.failures >= 2) {
      return ops();
    }
    const { value, tape } = this.rt.capture(ops, staticParams);
    if (tape === null) {
      this.entries.set(key, { tape: null, value: undefined, failures: (e?.failures ?? 0) + 1 });
      return value;
    }
    this.entries.set(key, { tape, value, failures: 0 });
    for (const [k, old] of this.entries) {
      if (this.entries.size <= this.max) break;
      if (old.tape) this.rt.releaseTape(old.tape);
      this.entries.delete(k);
    }
    return value;
  }

  /** Drops every tape. */
  clear(): void {
    for (const e of this.entries.values()) if (e.tape) this.rt.releaseTape(e.tape);
    this.entries.clear();
  }
}
