// Tests for f32 <-> f16 / bf16 conversion: hand-derived bit patterns, an exhaustive round trip of
// all 65536 f16 patterns, every f16 midpoint (ties to even), and the bit-level array path checked
// against the independent arithmetic (number) path on random f32 bit patterns.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  f16BitsToF32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  fromBf16Array,
  fromBf16Bits,
  fromF16Array,
  fromF16Bits,
  roundToBf16,
  toBf16Array,
  toBf16Bits,
  toF16Array,
  toF16Bits,
} from "../../src/backend/dtype-convert.js";

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number) => {
  f32[0] = x;
  return u32[0]!;
};
const f32FromBits = (bits: number) => {
  u32[0] = bits;
  return f32[0]!;
};
const isF16NaN = (h: number) => (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;

test("f16: hand-derived bit patterns", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite
    [65519.99, 0x7bff], // just below the midpoint to inf
    [65520, 0x7c00], // midpoint between 65504 and 2^16: ties to even (inf)
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Number.POSITIVE_INFINITY, 0x7c00],
    [Number.NEGATIVE_INFINITY, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // tie between 0 and 2^-24: even is 0
    [2 ** -25 * 1.0001, 0x0001],
    [3 * 2 ** -25, 0x0002], // tie between 1 and 2 ulps: even is 2
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [1 + 2 ** -11, 0x3c00], // tie: even mantissa 0
    [1 + 3 * 2 ** -11, 0x3c02], // tie: even mantissa 2
    [0.1, 0x2e66],
    [1 / 3, 0x3555],
    [Math.PI, 0x4248],
  ];
  for (const [x, h] of cases) {
    assert.equal(toF16Bits(x), h, `toF16Bits(${x})`);
    assert.equal(f32BitsToF16Bits(bitsOf(x)), h, `f32BitsToF16Bits(${x})`);
  }
  assert.ok(isF16NaN(toF16Bits(Number.NaN)));
  assert.ok(isF16NaN(f32BitsToF16Bits(bitsOf(Number.NaN))));
  assert.equal(fromF16Bits(0x3c00), 1);
  assert.equal(fromF16Bits(0x0001), 2 ** -24);
  assert.equal(fromF16Bits(0xfc00), Number.NEGATIVE_INFINITY);
  assert.ok(Number.isNaN(fromF16Bits(0x7e00)));
});

test("bf16: hand-derived bit patterns", () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3f80],
    [-2, 0xc000],
    [1 + 2 ** -8, 0x3f80], // tie: even
    [1 + 3 * 2 ** -8, 0x3f82], // tie: even
    [1 + 2 ** -8 + 2 ** -20, 0x3f81],
    [Math.PI, 0x4049],
    [Number.POSITIVE_INFINITY, 0x7f80],
    [3.4028234663852886e38, 0x7f80], // f32 max rounds up to inf
    [2 ** -133, 0x0001], // smallest bf16 subnormal
  ];
  for (const [x, h] of cases) {
    assert.equal(toBf16Bits(x), h, `toBf16Bits(${x})`);
    assert.equal(f32BitsToBf16Bits(bitsOf(x)), h, `f32BitsToBf16Bits(${x})`);
  }
  for (const nanBits of [0x7fc00000, 0x7f800001, 0xffc00001]) {
    const b = f32BitsToBf16Bits(nanBits);
    assert.equal(b & 0x7f80, 0x7f80);
    assert.notEqual(b & 0x7f, 0, `NaN ${nanBits.toString(16)} stays NaN`);
    assert.equal(b & 0x8000, (nanBits >>> 16) & 0x8000, "NaN keeps its sign");
  }
  assert.ok(Number.isNaN(fromBf16Bits(toBf16Bits(Number.NaN))));
  assert.equal(fromBf16Bits(0x4049), 3.140625);
});

test("f16: all 65536 patterns round-trip through f32, both paths agree", () => {
  for (let h = 0; h < 65536; h++) {
    const fb = f16BitsToF32Bits(h);
    const v = fromF16Bits(h);
    if (isF16NaN(h)) {
      assert.ok(Number.isNaN(f32FromBits(fb)) && Number.isNaN(v), `0x${h.toString(16)} is NaN`);
      assert.ok(isF16NaN(f32BitsToF16Bits(fb)));
      continue;
    }
    assert.equal(f32FromBits(fb), v, `0x${h.toString(16)} widens to ${v}`);
    assert.equal(f32BitsToF16Bits(fb), h, `0x${h.toString(16)} round trip (bits)`);
    assert.equal(toF16Bits(v), h, `0x${h.toString(16)} round trip (number)`);
  }
});

test("f16: every midpoint between adjacent finite values rounds to the even neighbour", () => {
  for (let h = 0; h < 0x7bff; h++) {
    const lo = fromF16Bits(h);
    const hi = fromF16Bits(h + 1);
    const mid = (lo + hi) / 2; // exact in f32 too (f16 has 11 significant bits)
    const even = h % 2 === 0 ? h : h + 1;
    assert.equal(toF16Bits(mid), even, `midpoint of 0x${h.toString(16)}`);
    assert.equal(f32BitsToF16Bits(bitsOf(mid)), even);
    assert.equal(toF16Bits(-mid), even | 0x8000);
    const above = f32FromBits(bitsOf(mid) + 1);
    const below = f32FromBits(bitsOf(mid) - 1);
    assert.equal(f32BitsToF16Bits(bitsOf(above)), h + 1);
    assert.equal(f32BitsToF16Bits(bitsOf(below)), h);
  }
});

test("random f32 patterns: bit path equals arithmetic path (f16 and bf16)", () => {
  let s = 12345;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  for (let i = 0; i < 200000; i++) {
    // bias half the samples into the f16 range so subnormals and rounding get exercised
    const bits = i % 2 ? next() : ((next() & 0x87ffffff) | 0x30000000) >>> 0;
    const x = f32FromBits(bits);
    if (Number.isNaN(x)) continue;
    assert.equal(f32BitsToF16Bits(bits), toF16Bits(x), `f16 of bits 0x${bits.toString(16)}`);
    assert.equal(f32BitsToBf16Bits(bits), toBf16Bits(x), `bf16 of bits 0x${bits.toString(16)}`);
    assert.equal(fromBf16Bits(toBf16Bits(x)), roundToBf16(x));
  }
});

test("array forms agree with the scalar forms", () => {
  const src = new Float32Array([0, -1.5, 1e-7, 70000, Math.PI, -1e-3, 2 ** -20, Number.NaN]);
  const h = toF16Array(src);
  const b = toBf16Array(src);
  const h64 = toF16Array(Float64Array.from(src));
  for (let i = 0; i < src.length; i++) {
    assert.equal(h[i], f32BitsToF16Bits(bitsOf(src[i]!)));
    assert.equal(h64[i], h[i]);
    assert.equal(b[i], f32BitsToBf16Bits(bitsOf(src[i]!)));
  }
  const wh = fromF16Array(h);
  const wb = fromBf16Array(b);
  for (let i = 0; i < src.length - 1; i++) {
    assert.equal(wh[i], fromF16Bits(h[i]!));
    assert.equal(wb[i], fromBf16Bits(b[i]!));
  }
  assert.ok(Number.isNaN(wh[7]!) && Number.isNaN(wb[7]!));
  // f64 input rounds once, from the exact value: 1 + 2^-11 + 2^-40 is above the f16 tie
  assert.equal(toF16Array(new Float64Array([1 + 2 ** -11 + 2 ** -40]))[0], 0x3c01);
});
