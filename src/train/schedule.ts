// The paper's learning-rate schedule: linear warmup over the first `warmupSteps`, then cosine
// decay to `minRatio` x peak at `totalSteps` (the paper: 5% warmup, decay to 10% of peak).
// Pure function of the step, so a resumed run gets the identical schedule.
import { ConfigError } from "../errors.js";

export interface LrSchedule {
  peak: number;
  warmupSteps: number;
  totalSteps: number;
  /** Final LR as a fraction of peak (default 0.1). */
  minRatio?: number;
}

export function validateSchedule(s: LrSchedule): void {
  if (!(s.peak > 0) || !Number.isFinite(s.peak))
    throw new ConfigError(`learning rate ${s.peak} must be a positive number, e.g. 3e-4`);
  if (!Number.isInteger(s.totalSteps) || s.totalSteps < 1) {
    throw new ConfigError(`steps ${s.totalSteps} must be a positive integer`);
  }
  if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0 || s.warmupSteps > s.totalSteps) {
    throw new ConfigError(`warmup ${s.warmupSteps} must be an integer in [0, steps = ${s.totalSteps}]`);
  }
  const r = s.minRatio ?? 0.1;
  if (!(r >= 0 && r <= 1)) throw new ConfigError(`min LR ratio ${r} must be in [0, 1]`);
}

/** LR for 1-based step `step` (1..totalSteps). */
export function lrAt(step: number, s: LrSchedule): number {
  const minRatio = s.minRatio ?? 0.1;
  if (s.warmupSteps > 0 && step <= s.warmupSteps) return (s.peak * step) / s.warmupSteps;
  const decaySteps = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - s.warmupSteps) / decaySteps));
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return s.peak * (minRatio + (1 - minRatio) * cosine);
}
