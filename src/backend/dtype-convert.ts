// Conversions between f32/f64 numbers and the 16-bit storage formats: IEEE half (f16) and bfloat16.
// Narrowing rounds to nearest, ties to even; f16 keeps subnormals and overflows to +-inf; NaN stays
// NaN (quiet). Scalar forms work on JS numbers (exact from f64); array forms on Float32Array bits.
// This file only converts bits: it knows nothing of tensors or backends.

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** Rounds a non-negative real to an integer, ties to even (exact for values below 2^53). */
function roundHalfEven(y: number): number {
  const f = Math.floor(y);
  const d = y - f;
  if (d > 0.5 || (d === 0.5 && f % 2 === 1)) return f + 1;
  return f;
}

/** floor(log2(a)) for finite a > 0, corrected for Math.log2 rounding at powers of two. */
function floorLog2(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  else if (2 ** (e + 1) <= a) e += 1;
  return e;
}

/**
 * Rounds x to a binary format with `mant` explicit mantissa bits, smallest normal exponent `eMin`
 * and largest finite value `maxFinite`; returns the rounded value (may be +-Infinity).
 */
function roundToFormat(x: number, mant: number, eMin: number, maxFinite: number): number {
  if (Number.isNaN(x) || x === 0 || !Number.isFinite(x)) return x;
  const a = Math.abs(x);
  const e = Math.max(floorLog2(a), eMin);
  const ulp = 2 ** (e - mant);
  const r = roundHalfEven(a / ulp) * ulp;
  const v = r > maxFinite ? Number.POSITIVE_INFINITY : r;
  return x < 0 ? -v : v;
}

const F16_MAX = 65504;
const BF16_MAX = (2 - 2 ** -7) * 2 ** 127;

/** x rounded to the nearest f16 value (as a number). */
export function roundToF16(x: number): number {
  return roundToFormat(x, 10, -14, F16_MAX);
}

/** x rounded to the nearest bf16 value (as a number). Rounds from the exact value, not via f32. */
export function roundToBf16(x: number): number {
  return roundToFormat(x, 7, -126, BF16_MAX);
}

/** f16 bits of x (RNE from the exact value of x; NaN -> 0x7e00 with sign). */
export function toF16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const r = roundToF16(x);
  const sign = r < 0 || Object.is(r, -0) ? 0x8000 : 0;
  const a = Math.abs(r);
  if (a === Number.POSITIVE_INFINITY) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | (a / 2 ** -24); // subnormal or zero: exact multiple of 2^-24
  const e = floorLog2(a);
  const m = a / 2 ** e - 1; // in [0, 1), a multiple of 2^-10
  return sign | ((e + 15) << 10) | (m * 1024);
}

/** The value of f16 bits `h` (0..65535). */
export function fromF16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** bf16 bits of x (RNE from the exact value of x; NaN -> quiet NaN with sign). */
export function toBf16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7fc0;
  f32Scratch[0] = roundToBf16(x); // exactly representable in f32 (or +-inf)
  return u32Scratch[0]! >>> 16;
}

/** The value of bf16 bits `h` (0..65535). */
export function fromBf16Bits(h: number): number {
  u32Scratch[0] = (h & 0xffff) << 16;
  return f32Scratch[0]!;
}

/** f16 bits of one f32 bit pattern (bit-exact RNE; the array fast path). */
export function f32BitsToF16Bits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exp = (f >>> 23) & 0xff;
  let mant = f & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0); // inf / quiet NaN
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00; // overflow
  if (e <= 0) {
    if (e < -10) return sign; // below half the smallest subnormal: rounds to zero
    mant |= 0x800000; // implicit bit
    const shift = 14 - e; // 14..24
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && h & 1)) h += 1; // may carry into the smallest normal
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h += 1; // carry may reach inf: correct
  return sign | h;
}

/** f32 bit pattern of f16 bits (exact; NaN payload kept in the top mantissa bits). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const e = (h >> 10) & 0x1f;
  let m = h & 0x3ff;
  if (e === 31) return (sign | 0x7f800000 | (m << 13)) >>> 0;
  if (e !== 0) return (sign | ((e - 15 + 127) << 23) | (m << 13)) >>> 0;
  if (m === 0) return sign >>> 0;
  let exp = 127 - 14; // normalise the subnormal
  while ((m & 0x400) === 0) {
    m <<= 1;
    exp -= 1;
  }
  return (sign | (exp << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/** bf16 bits of one f32 bit pattern (RNE; NaN stays a quiet NaN). */
export function f32BitsToBf16Bits(f: number): number {
  if ((f & 0x7f800000) === 0x7f800000 && f & 0x7fffff) return ((f >>> 16) | 0x40) & 0xffff;
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

/** dst[i] = f16 bits of src[i]. Float64Array input is rounded exactly (no double rounding). */
export function toF16Array(
  src: Float32Array | Float64Array,
  dst: Uint16Array = new Uint16Array(src.length),
): Uint16Array {
  if (src instanceof Float32Array) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < src.length; i++) dst[i] = f32BitsToF16Bits(bits[i]!);
  } else {
    for (let i = 0; i < src.length; i++) dst[i] = toF16Bits(src[i]!);
  }
  return dst;
}

/** dst[i] = bf16 bits of src[i]. Float64Array input is rounded exactly (no double rounding). */
export function toBf16Array(
  src: Float32Array | Float64Array,
  dst: Uint16Array = new Uint16Array(src.length),
): Uint16Array {
  if (src instanceof Float32Array) {
    const bits = new Uint32Array(src.buffer, src.byteOffset, src.length);
    for (let i = 0; i < src.length; i++) dst[i] = f32BitsToBf16Bits(bits[i]!);
  } else {
    for (let i = 0; i < src.length; i++) dst[i] = toBf16Bits(src[i]!);
  }
  return dst;
}

/** dst[i] = value of f16 bits src[i], widened to f32. */
export function fromF16Array(
  src: Uint16Array,
  dst: Float32Array = new Float32Array(src.length),
): Float32Array {
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) bits[i] = f16BitsToF32Bits(src[i]!);
  return dst;
}

/** dst[i] = value of bf16 bits src[i], widened to f32. */
export function fromBf16Array(
  src: Uint16Array,
  dst: Float32Array = new Float32Array(src.length),
): Float32Array {
  const bits = new Uint32Array(dst.buffer, dst.byteOffset, dst.length);
  for (let i = 0; i < src.length; i++) bits[i] = src[i]! << 16;
  return dst;
}
