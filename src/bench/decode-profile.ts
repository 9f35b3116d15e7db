// GPU time per kernel of decode steps (`bench decode --profile`), and the device copy bandwidth the
// decode rows compare against. Both use the backend's GPU profiler (Backend.startProfiling: GPU
// timestamps around every dispatch) where it has one; the copy bandwidth falls back to the host
// clock over enough casts that the submit/readback round trip is a small part of the time.
import type { Backend } from "../backend/backend.js";
import { copyPair } from "./gpu-spin.js";
import { canProfile, type KernelStepTime } from "./kernel-profile.js";

export interface DecodeProfileRow {
  bench: "decode-profile";
  backend: string;
  device: string;
  config: string;
  batch: number;
  context: number;
  steps: number;
  /** Sum of all kernels' GPU time per step (no launch gaps, no host time). */
  gpuMsPerStep: number;
  /** K/V bytes the step's attention reads (as in the decode row): with the attention kernels'
   *  GPU time it gives their own read bandwidth. */
  kvReadBytes: number;
  kernels: KernelStepTime[];
  /** Dispatches the profiler could not time (0 normally). */
  untimed: number;
}

export interface CopyBandwidth {
  /** Read + write bytes per second of a same-dtype cast, GB/s. */
  gbps: number;
  method: "gpu-timestamps" | "host-clock";
}

/**
 * Device copy bandwidth (read + write bytes) of a same-dtype cast of 64 MiB f32 buffers: the cast
 * kernel's GPU time where the backend can profile; else the host clock over a batch of casts long
 * enough (>= 50 ms, at most 64 casts) that one sync's round trip does not count much; best of 4.
 */
export async function copyBandwidth(be: Backend): Promise<CopyBandwidth> {
  const n = 16 * 2 ** 20;
  const pair = copyPair(be, n, "bw");
  const bytes = 2 * n * 4;
  try {
    if (canProfile(be)) {
      pair.casts(4); // warm-up (pipeline creation, clocks)
      await be.sync();
      be.startProfiling!();
      pair.casts(16);
      // only the casts ran while profiling (a copy kernel here: same dtype, aligned)
      const { kernels } = await be.stopProfiling!();
      const ms = kernels.reduce((s, k) => s + k.ms, 0);
      const timed = kernels.reduce((s, k) => s + k.dispatches, 0);
      if (timed === 16 && ms > 0)
        return { gbps: (timed * bytes) / (ms / 1e3) / 1e9, method: "gpu-timestamps" };
    }
    await be.sync();
    let t0 = performance.now();
    pair.casts(1);
    await be.sync();
    const reps = Math.max(1, Math.min(64, Math.ceil(50 / Math.max(1e-3, performance.now() - t0))));
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 4; i++) {
      t0 = performance.now();
      pair.casts(reps);
      await be.sync();
      best = Math.min(best, (performance.now() - t0) / reps);
    }
    return { gbps: bytes / (best / 1e3) / 1e9, method: "host-clock" };
  } finally {
    pair.free();
  }
}
