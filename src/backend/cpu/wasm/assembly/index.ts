// Entry of the wasm kernel module (AssemblyScript, SIMD + threads, imported shared memory).
// Exports job functions that every thread of a job calls with the same arguments (except its
// scratch pointer); items are handed out through an atomic counter in the reserved region.
export { MATMUL_SCRATCH, matmulJob } from "./matmul";
export { PEAK_FLOPS_PER_ITER, simdPeak } from "./peak";

/** End of the module's static data (the JS side checks it lies below its control region). */
export function staticEnd(): usize {
  return __heap_base;
}
export { attentionJob, attentionScratchBytes, MAX_HEAD_DIM } from "./attention";
export { BR as ATTENTION_ROWS } from "./attention-pack";
export { pagedAttentionJob, pagedCombineJob } from "./attention-paged";
export {
  attentionBackwardJob,
  attentionBackwardScratchBytes,
  attentionDqPartialsBytes,
  attentionDqReduceJob,
} from "./attention-backward";
export { crossEntropyBackwardJob, crossEntropyJob } from "./loss";
export { swigluBackwardJob, swigluJob } from "./swiglu";
export { NORM_ROWS, rmsnormBackwardJob, rmsnormJob } from "./rmsnorm";
export { ropeJob } from "./rope";
export { adamwJob, CHUNK as OPTIM_CHUNK, sumSquaresJob } from "./optim";
export { expProbeJob } from "./vmath";
export { elementwiseJob } from "./elementwise";
