// Keeps a GPU busy for a moment before a timed row. A GPU left idle while the host sets a row up
// (the model's random init, the cache fill) drops to idle clocks (360-450 MHz on an H100 by
// nvidia-smi, against 1,980 under load), and a light load such as batch-1 decode does not always
// bring it back within the row's warm-up: one such row measured 0.56 ms of GPU time per step
// against 0.40 in every other (bench/results/h100-decode-clocks-s13.txt).
import type { Backend } from "../backend/backend.js";
import { view } from "../backend/tensor.js";

/**
 * Two f32 buffers of n elements (the first filled with 1s) and `casts(reps)`, which copies them
 * back and forth reps times (a vec4 copy kernel: same dtype, aligned); `free()` releases them.
 * Shared by the copy-bandwidth measurement and spinUp.
 */
export function copyPair(be: Backend, n: number, label: string): { casts(reps: number): void; free(): void } {
  const a = view(be.createBuffer(n, "f32", `${label}.a`), [n]);
  const b = view(be.createBuffer(n, "f32", `${label}.b`), [n]);
  be.fill(a, 1);
  return {
    casts(reps) {
      for (let r = 0; r < reps; r++) be.cast(r % 2 ? a : b, r % 2 ? b : a);
    },
    free() {
      be.destroyBuffer(a.buffer);
      be.destroyBuffer(b.buffer);
    },
  };
}

/** Runs back-to-back copies on a webgpu backend for about `seconds` (no-op elsewhere). */
export async function spinUp(be: Backend, seconds: number): Promise<void> {
  if (be.name !== "webgpu" || seconds <= 0) return;
  const pair = copyPair(be, 4 * 2 ** 20, "spin");
  try {
    const t0 = performance.now();
    do {
      pair.casts(16);
      await be.sync();
    } while (performance.now() - t0 < seconds * 1e3);
  } finally {
    pair.free();
  }
}
