// GPU time per kernel over a few steps of some workload (decode steps in `bench decode --profile`,
// training steps in `bench step --profile`), through the backend's GPU profiler
// (Backend.startProfiling: GPU timestamps around every dispatch; webgpu with timestamp-query).
import type { Backend } from "../backend/backend.js";

export interface KernelStepTime {
  kernel: string;
  dispatchesPerStep: number;
  msPerStep: number;
}

export interface StepKernelProfile {
  /** Sum of all kernels' GPU time per step (no launch gaps, no host time). */
  gpuMsPerStep: number;
  kernels: KernelStepTime[];
  /** Dispatches the profiler could not time (0 normally). */
  untimed: number;
}

/**
 * Profiles `steps` calls of `run` after 2 untimed ones; null when the backend cannot profile.
 * `run(n)` must do n steps (decode steps, training steps).
 */
export async function profileSteps(
  be: Backend,
  run: (n: number) => Promise<void>,
  steps: number,
): Promise<StepKernelProfile | null> {
  if (!be.startProfiling || !be.resetProfiling || !be.stopProfiling || !canProfile(be)) return null;
  be.startProfiling();
  let prof: Awaited<ReturnType<NonNullable<Backend["stopProfiling"]>>>;
  try {
    await run(2);
    await be.resetProfiling();
    await run(steps);
  } finally {
    prof = await be.stopProfiling();
  }
  const kernels = prof.kernels.map((k) => ({
    kernel: k.kernel,
    dispatchesPerStep: k.dispatches / steps,
    msPerStep: k.ms / steps,
  }));
  return {
    gpuMsPerStep: kernels.reduce((s, k) => s + k.msPerStep, 0),
    kernels,
    untimed: prof.untimed,
  };
}

/** Whether the backend's device can time dispatches (webgpu with timestamp-query). */
export function canProfile(be: Backend): boolean {
  return be.startProfiling !== undefined && be.info().features.includes("timestamp-query");
}
