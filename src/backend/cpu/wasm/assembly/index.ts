// Entry of the wasm kernel module (AssemblyScript, SIMD + threads, imported shared memory).
// Exports job functions that every thread of a job calls with the same arguments (except its
// scratch pointer); items are handed out through an atomic counter in the reserved region.
export { matmulJob, MATMUL_SCRATCH } from "./matmul";
export { simdPeak } from "./peak";

/** End of the module's static data (the JS side checks it lies below its control region). */
export function staticEnd(): usize {
  return __heap_base;
}
export { attentionJob, attentionScratchBytes, MAX_HEAD_DIM } from "./attention";
export { attentionBackwardJob, attentionBackwardScratchBytes } from "./attention-backward";
