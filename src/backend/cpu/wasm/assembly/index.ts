// Entry of the wasm kernel module (AssemblyScript, SIMD + threads, imported shared memory).
// Exports job functions that every thread of a job calls with the same arguments (except its
// scratch pointer); items are handed out through an atomic counter in the reserved region.
import { FLAG_TRANS_B, MATMUL_SCRATCH, matmulPackedJob } from "./matmul";
import { GEMV_MAX_M, gemvJob } from "./gemv";

export { MATMUL_SCRATCH };

/**
 * One matmul job (see matmulPackedJob for the arguments). Small M with B stored (N, K) (decode)
 * takes the streaming gemv path; everything else the packed GEMM. The choice depends
 * only on the shapes, so results do not depend on the thread count.
 */
export function matmulJob(
  a: usize,
  b: usize,
  c: usize,
  m: i32,
  n: i32,
  k: i32,
  batch: i32,
  strideA: i32,
  strideB: i32,
  strideC: i32,
  flags: i32,
  alpha: f32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  if (m <= GEMV_MAX_M && (flags & FLAG_TRANS_B) != 0 && (m + 4) * k * 4 <= MATMUL_SCRATCH) {
    gemvJob(a, b, c, m, n, k, batch, strideA, strideB, strideC, flags, alpha, counter, threads, scratch);
  } else {
    matmulPackedJob(a, b, c, m, n, k, batch, strideA, strideB, strideC, flags, alpha, counter, threads, scratch);
  }
}
export { PEAK_FLOPS_PER_ITER, simdPeak } from "./peak";

/** End of the module's static data (the JS side checks it lies below its control region). */
export function staticEnd(): usize {
  return __heap_base;
}
export { attentionJob, attentionScratchBytes, MAX_HEAD_DIM } from "./attention";
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
