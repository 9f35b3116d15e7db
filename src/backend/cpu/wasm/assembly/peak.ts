// Machine-ceiling probe for the benchmark: register-resident f32x4 work with no memory traffic.
// Plain build: 6 independent mul chains and 6 add chains (48 flops per iteration); relaxed build:
// 12 independent fused multiply-add chains (96 flops). Call with one = 1 and a small eps;
// returns a checksum so the work is not optimised away. Not a kernel of the backend.

export const PEAK_FLOPS_PER_ITER: i32 = ASC_FEATURE_RELAXED_SIMD ? 96 : 48;

export function simdPeak(iters: i32, one: f32, eps: f32): f32 {
  const m = f32x4.splat(one);
  const x = f32x4.splat(eps);
  let p0 = f32x4.splat(one);
  let p1 = f32x4.splat(one + eps);
  let p2 = f32x4.splat(one + 2 * eps);
  let p3 = f32x4.splat(one + 3 * eps);
  let p4 = f32x4.splat(one + 4 * eps);
  let p5 = f32x4.splat(one + 5 * eps);
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(eps);
  let s2 = f32x4.splat(2 * eps);
  let s3 = f32x4.splat(3 * eps);
  let s4 = f32x4.splat(4 * eps);
  let s5 = f32x4.splat(5 * eps);
  for (let i: i32 = 0; i < iters; i++) {
    if (ASC_FEATURE_RELAXED_SIMD) {
      p0 = f32x4.relaxed_madd(p0, m, x);
      s0 = f32x4.relaxed_madd(s0, m, x);
      p1 = f32x4.relaxed_madd(p1, m, x);
      s1 = f32x4.relaxed_madd(s1, m, x);
      p2 = f32x4.relaxed_madd(p2, m, x);
      s2 = f32x4.relaxed_madd(s2, m, x);
      p3 = f32x4.relaxed_madd(p3, m, x);
      s3 = f32x4.relaxed_madd(s3, m, x);
      p4 = f32x4.relaxed_madd(p4, m, x);
      s4 = f32x4.relaxed_madd(s4, m, x);
      p5 = f32x4.relaxed_madd(p5, m, x);
      s5 = f32x4.relaxed_madd(s5, m, x);
    } else {
      p0 = f32x4.mul(p0, m);
      s0 = f32x4.add(s0, x);
      p1 = f32x4.mul(p1, m);
      s1 = f32x4.add(s1, x);
      p2 = f32x4.mul(p2, m);
      s2 = f32x4.add(s2, x);
      p3 = f32x4.mul(p3, m);
      s3 = f32x4.add(s3, x);
      p4 = f32x4.mul(p4, m);
      s4 = f32x4.add(s4, x);
      p5 = f32x4.mul(p5, m);
      s5 = f32x4.add(s5, x);
    }
  }
  const p = f32x4.add(f32x4.add(f32x4.add(p0, p1), f32x4.add(p2, p3)), f32x4.add(p4, p5));
  const s = f32x4.add(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), f32x4.add(s4, s5));
  const t = f32x4.add(p, s);
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1) + f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3);
}
