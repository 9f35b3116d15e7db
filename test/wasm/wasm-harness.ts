// Test harness for the wasm kernels: a shared memory with kernels loaded, a bump allocator above
// the reserved region, random fills and an error bound relative to max|ref|. Tests only.
import { loadWasmKernels, type WasmKernels } from "../../src/backend/cpu/wasm/index.js";

export interface Harness {
  kernels: WasmKernels;
  memory: WebAssembly.Memory;
  /** Allocates n f32 (plus a guard band filled with a sentinel); returns the byte offset. */
  alloc(n: number): number;
  f32(offset: number, n: number): Float32Array;
  u16(offset: number, n: number): Uint16Array;
  /** Frees every allocation. */
  reset(): void;
  /** Throws if any guard band changed. */
  checkGuards(): void;
}

const GUARD = 16;
const SENTINEL = 12345.5;

export async function makeHarness(threads: number): Promise<Harness> {
  const memory = new WebAssembly.Memory({ initial: 1024, maximum: 65536, shared: true });
  const kernels = await loadWasmKernels({ memory, threads });
  let top = kernels.reservedBytes;
  let guards: number[] = [];
  const f32 = (offset: number, n: number) => new Float32Array(memory.buffer, offset, n);
  const h: Harness = {
    kernels,
    memory,
    f32,
    u16: (offset, n) => new Uint16Array(memory.buffer, offset, n),
    alloc(n) {
      const bytes = (n + 2 * GUARD) * 4;
      const need = top + bytes - memory.buffer.byteLength;
      if (need > 0) memory.grow(Math.ceil(need / 65536));
      f32(top, GUARD).fill(SENTINEL);
      f32(top + (GUARD + n) * 4, GUARD).fill(SENTINEL);
      guards.push(top, top + (GUARD + n) * 4);
      const at = top + GUARD * 4;
      top += bytes;
      return at;
    },
    reset() {
      top = kernels.reservedBytes;
      guards = [];
    },
    checkGuards() {
      for (const g of guards) {
        if (f32(g, GUARD).some((x) => x !== SENTINEL)) throw new Error(`guard band at byte ${g} was written`);
      }
    },
  };
  return h;
}

/** Deterministic uniform [-1, 1) values (xorshift32). */
export function randomArray(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}

/** max |got - ref| / max(max|ref|, tiny). */
export function relError(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (got.length !== ref.length) throw new Error(`length ${got.length} != ${ref.length}`);
  let maxRef = 1e-30;
  let maxErr = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Number.isFinite(ref[i]!)) maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    const e = got[i] === ref[i] ? 0 : Math.abs(got[i]! - ref[i]!); // equal infinities count as exact
    if (!(e <= maxErr)) maxErr = Number.isNaN(e) ? Number.POSITIVE_INFINITY : Math.max(maxErr, e);
  }
  return maxErr / maxRef;
}
