// Benchmark timing: warm-up, then the median of several timed repetitions, each timed around
// `await sync()` so queued (GPU) work is counted. Ops repeat inside one repetition so each timed
// span lasts at least MIN_SPAN_S (25 ms; it was 5): each span ends in a submit and a wait (~0.05 ms
// median through Dawn on an H100, plus the GPU's start), which 5 ms spans charged to a 0.5 ms
// matmul as ~10% (2048^3: 33.2-34.0 -> 36.9-37.4 TFLOP/s, same call). Timing only; nothing here
// knows about ops or backends.

export interface TimingOptions {
  warmup: number;
  minReps: number;
  maxReps: number;
  /** Keep repeating (up to maxReps) until this much time was measured. */
  minSeconds: number;
}

export const DEFAULT_TIMING: TimingOptions = { warmup: 2, minReps: 5, maxReps: 30, minSeconds: 1 };
export const QUICK_TIMING: TimingOptions = { warmup: 1, minReps: 3, maxReps: 10, minSeconds: 0.25 };

const MIN_SPAN_S = 0.025;

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median seconds of one `run()` (enqueue) followed by its completion (`sync()`). */
export async function timeOp(
  run: () => void | Promise<void>,
  sync: () => Promise<void>,
  opts: TimingOptions,
): Promise<number> {
  let once = Number.POSITIVE_INFINITY;
  for (let i = 0; i < Math.max(1, opts.warmup); i++) {
    const t0 = performance.now();
    await run();
    await sync();
    once = Math.min(once, (performance.now() - t0) / 1000);
  }
  const inner = Math.max(1, Math.ceil(MIN_SPAN_S / Math.max(once, 1e-7)));
  const samples: number[] = [];
  let total = 0;
  while (samples.length < opts.minReps || (total < opts.minSeconds && samples.length < opts.maxReps)) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) await run();
    await sync();
    const dt = (performance.now() - t0) / 1000;
    total += dt;
    samples.push(dt / inner);
  }
  return median(samples);
}
