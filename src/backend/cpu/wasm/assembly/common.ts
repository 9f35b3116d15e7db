// Shared helpers of the wasm kernels (AssemblyScript): integer maths, the work-stealing counter
// every thread of one job draws items from, SIMD reductions and fused multiply-add, a 4x4 f32
// transpose for packing, the matmul job flags, and loads that widen f16/bf16 storage to f32.
// No allocation anywhere: all memory is raw pointers into the imported shared memory.

@inline export function cdiv(a: i32, b: i32): i32 {
  return (a + b - 1) / b;
}

@inline export function roundUp(a: i32, b: i32): i32 {
  return cdiv(a, b) * b;
}

@inline export function imin(a: i32, b: i32): i32 {
  return a < b ? a : b;
}

@inline export function imax(a: i32, b: i32): i32 {
  return a > b ? a : b;
}

/** Next work item of the running job (every thread calls this until it returns >= count). */
@inline export function nextItem(counter: usize): i32 {
  return atomic.add<i32>(counter, 1);
}

/**
 * Rows per work item of a row-wise job: about 8 items per thread, so a late worker still gets a
 * share. Each row is computed by one thread either way, so results do not depend on it.
 */
@inline export function rowsPerItem(n: i32, threads: i32): i32 {
  return imax(1, cdiv(n, threads * 8));
}

/** Byte address of element `i` (f32) after `base`. */
@inline export function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
}

/**
 * a * b + c per lane: one fused f32x4.relaxed_madd when the module is built with relaxed SIMD
 * (a second build; Node 20 needs --experimental-wasm-relaxed-simd), else mul then add.
 */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** Sum of the four lanes in lane order ((x0 + x1) + x2) + x3 (vmath's hsum4 pairs them instead). */
@inline export function laneSum(x: v128): f32 {
  return f32x4.extract_lane(x, 0) + f32x4.extract_lane(x, 1) + f32x4.extract_lane(x, 2) + f32x4.extract_lane(x, 3);
}

/**
 * Transposes the 4x4 block whose rows start at r0..r3 (stride arbitrary) and stores its columns
 * contiguously: out[j*stride + i] = row_i[j] for j in 0..3, with `stride` in bytes.
 */
@inline export function transpose4Store(r0: v128, r1: v128, r2: v128, r3: v128, out: usize, stride: usize): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(out, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
  v128.store(out + stride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
  v128.store(out + 2 * stride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
  v128.store(out + 3 * stride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
}

/** Storage types of operands the kernels widen while packing: f32, f16, bf16. */
export const TY_F32: i32 = 0;
export const TY_F16: i32 = 1;
export const TY_BF16: i32 = 2;

/** Flags of a matmul job (matmul.ts, gemv.ts): op(A) = A^T, op(B) = B^T, C += instead of C =. */
export const FLAG_TRANS_A: i32 = 1;
export const FLAG_TRANS_B: i32 = 2;
export const FLAG_ACCUMULATE: i32 = 4;
/** B's storage type (TY_* above) sits in bits 3-4 of the flags. */
export const FLAG_B_TYPE_SHIFT: i32 = 3;

/** B's storage type (TY_*) from matmul job flags. */
@inline export function bType(flags: i32): i32 {
  return (flags >> FLAG_B_TYPE_SHIFT) & 3;
}

// Packers are generic over a storage marker type so each storage gets its own loop, free of
// per-element type tests: f32 = f32, i16 = f16 bits, u16 = bf16 bits.

/** log2 of the element size of storage type ty. */
@inline export function esh(ty: i32): usize {
  return ty == TY_F32 ? 2 : 1;
}

/** log2 of the element size of storage marker T. */
@inline export function eshT<T>(): usize {
  return sizeof<T>() == 4 ? 2 : 1;
}

// f16 bits (zero-extended in i32 lanes) -> f32, exact for normals, subnormals, inf and NaN:
// (h & 0x7fff) << 13 is the f32 bit pattern of |x| * 2^-112 for normal and subnormal f16 alike,
// one multiply by 2^112 rescales it exactly, and exponent 31 (inf/NaN) is forced to 255.
// (Subnormal f16 inputs make the multiply see a denormal operand: slower on some x86 cores.)
@inline function halfToFloat4(h: v128): v128 {
  const em = i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13);
  let f = f32x4.mul(em, f32x4.splat(5.192296858534828e33));
  f = v128.or(f, v128.and(i32x4.gt_s(em, i32x4.splat(0x0f7fffff)), i32x4.splat(0x7f800000)));
  return v128.or(f, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

/** Four consecutive elements of storage marker T at p, as f32x4. */
@inline export function ld4<T>(p: usize): v128 {
  if (sizeof<T>() == 4) return v128.load(p);
  const w = v128.load16x4_u(p);
  if (isSigned<T>()) return halfToFloat4(w);
  return i32x4.shl(w, 16);
}

/** One element of storage marker T at p, as f32. */
@inline export function ld1<T>(p: usize): f32 {
  if (sizeof<T>() == 4) return load<f32>(p);
  const w = <i32>load<u16>(p);
  if (isSigned<T>()) return f32x4.extract_lane(halfToFloat4(i32x4.splat(w)), 0);
  return reinterpret<f32>(w << 16);
}

/** Sum over i < n of x[i] * b[i], x f32 and b of storage marker T: SIMD with a scalar tail. */
@inline export function dot<T>(x: usize, b: usize, n: i32): f32 {
  const es = eshT<T>();
  let s = f32x4.splat(0);
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) s = f32x4.add(s, f32x4.mul(v128.load(at(x, i)), ld4<T>(b + (<usize>i << es))));
  let r = laneSum(s);
  for (; i < n; i++) r += load<f32>(at(x, i)) * ld1<T>(b + (<usize>i << es));
  return r;
}
