// The machine's wasm SIMD f32 ceiling on one core, measured with the module's `simdPeak` loop
// (register-resident f32x4 mul and add chains, or fused madd chains in the relaxed-SIMD build;
// no memory traffic). For benchmarks; not a kernel.
import { kernelModule } from "./index.js";

/** GFLOP/s of f32x4 mul+add on the calling thread (best of a few short runs). */
export async function measureSimdPeakGflops(seconds = 0.2): Promise<number> {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const { module } = await kernelModule();
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const peak = instance.exports.simdPeak as (iters: number, one: number, eps: number) => number;
  const flopsPerIter = (instance.exports.PEAK_FLOPS_PER_ITER as WebAssembly.Global).value as number;
  let iters = 100_000;
  let best = 0;
  let spent = 0;
  while (spent < seconds) {
    const t0 = performance.now();
    peak(iters, 1, 1e-7);
    const dt = (performance.now() - t0) / 1000;
    spent += dt;
    best = Math.max(best, (flopsPerIter * iters) / dt / 1e9);
    if (dt < 0.02) iters *= 4;
  }
  return best;
}
