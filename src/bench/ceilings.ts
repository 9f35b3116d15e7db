// Performance ceilings the benchmark compares against: a small table of known devices (keyed
// by a pattern on the adapter / CPU name, with where each figure comes from) and, for the CPU,
// a measured wasm SIMD peak. Figures are ceilings for f32 work, not predictions.
import { measureSimdPeakGflops } from "../backend/cpu/wasm/peak.js";

export interface Ceiling {
  /** f32 GFLOP/s. */
  gflops: number;
  /** Memory bandwidth, GB/s, when known. */
  gbps?: number;
  /** Where the figures come from, printed under the table. */
  source: string;
}

interface KnownDevice {
  match: RegExp;
  ceiling: Ceiling;
}

/** GPUs by adapter name. Datasheet peaks unless stated; bandwidth measured through Dawn where known. */
export const KNOWN_DEVICES: readonly KnownDevice[] = [
  {
    match: /h100/i,
    ceiling: {
      gflops: 67_000,
      gbps: 2_500,
      source:
        "H100 SXM fp32 datasheet 67 TFLOP/s; copy bandwidth 2.2-2.7 TB/s measured via Dawn (shared/device/README.md)",
    },
  },
  {
    match: /h200/i,
    ceiling: {
      gflops: 67_000,
      gbps: 4_800,
      source: "H200 fp32 datasheet 67 TFLOP/s, HBM3e 4.8 TB/s datasheet",
    },
  },
  {
    match: /llvmpipe|swiftshader/i,
    ceiling: { gflops: 1.4, source: "software rasterizer, ~1.4 GFLOP/s measured (shared/device/README.md)" },
  },
];

export function knownCeiling(device: string): Ceiling | undefined {
  return KNOWN_DEVICES.find((d) => d.match.test(device))?.ceiling;
}

/**
 * CPU ceiling: one core's measured wasm SIMD (f32x4 mul + add, no memory traffic) peak times
 * the thread count. Multiply and add are separate instructions: no FMA in wasm SIMD 128.
 */
export async function cpuCeiling(threads: number): Promise<Ceiling> {
  const one = await measureSimdPeakGflops();
  return {
    gflops: one * threads,
    source: `${(one * threads).toFixed(0)} GFLOP/s = measured wasm SIMD f32x4 mul+add peak ${one.toFixed(1)} GFLOP/s on one core x ${threads} threads`,
  };
}
