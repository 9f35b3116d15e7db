// The compiled kernel module, once per process: the relaxed-SIMD build (fused multiply-add) when
// the engine validates relaxed SIMD and the generated assets carry it, else the plain SIMD128
// build. Both come base64-embedded from kernels-wasm.generated.ts (scripts/build-assets.mjs).
import * as generated from "./kernels-wasm.generated.js";

/** Which build of the kernels runs: fused multiply-add (relaxed SIMD) or plain SIMD128. */
export type KernelVariant = "relaxed-simd" | "simd128";

let modulePromise: Promise<{ module: WebAssembly.Module; variant: KernelVariant }> | undefined;

// (module (func (result v128) v128.const 0 x3 f32x4.relaxed_madd)): validates only where relaxed
// SIMD is enabled (Node >= 22; Node 20 with --experimental-wasm-relaxed-simd).
const RELAXED_PROBE = new Uint8Array([
  0,
  97,
  115,
  109,
  1,
  0,
  0,
  0,
  1,
  5,
  1,
  96,
  0,
  1,
  123,
  3,
  2,
  1,
  0,
  10,
  61,
  1,
  59,
  0,
  ...[0, 1, 2].flatMap(() => [253, 12, ...new Array<number>(16).fill(0)]),
  253,
  133,
  2,
  11,
]);

export function relaxedSimdSupported(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

function decodeBase64(b64: string): Uint8Array {
  if (typeof Buffer !== "undefined") return new Uint8Array(Buffer.from(b64, "base64"));
  return Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
}

/**
 * The compiled kernel module (once per process): the relaxed-SIMD build when this engine has
 * relaxed SIMD and the assets carry that build (`KERNELS_WASM_RELAXED_BASE64`, from
 * assembly/asc-flags.relaxed.json), else the plain SIMD128 build.
 */
export function kernelModule(): Promise<{ module: WebAssembly.Module; variant: KernelVariant }> {
  modulePromise ??= (async () => {
    const relaxed = (generated as Record<string, unknown>).KERNELS_WASM_RELAXED_BASE64;
    const variant: KernelVariant =
      typeof relaxed === "string" && relaxedSimdSupported() ? "relaxed-simd" : "simd128";
    const b64 = variant === "relaxed-simd" ? (relaxed as string) : generated.KERNELS_WASM_BASE64;
    return { module: await WebAssembly.compile(decodeBase64(b64) as BufferSource), variant };
  })();
  return modulePromise;
}
