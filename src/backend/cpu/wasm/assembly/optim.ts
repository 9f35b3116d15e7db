// Optimizer kernels over flat f32 arrays, split into fixed chunks of CHUNK elements (so results
// do not depend on the thread count): AdamW (decoupled weight decay; the caller folds gradScale
// and the clip factor into gradMul and passes the bias corrections as reciprocals), and sum of
// squares with one f64 partial per chunk (the caller adds the partials in chunk order).
import { at, cdiv, imin, nextItem } from "./common";

/** Elements per work item (64 KiB of each operand). */
export const CHUNK: i32 = 16384;

// One step on the 4 elements at p, g, m, v (lanes 4), or on 1 (lanes 1: lane 0 of splats).
@inline function adamw4(
  p: usize,
  g: usize,
  m: usize,
  v: usize,
  b1: v128,
  c1: v128,
  b2: v128,
  c2: v128,
  gm: v128,
  ib1: v128,
  ib2: v128,
  eps: v128,
  wd: v128,
  lr: v128,
  lanes: i32,
): void {
  const gv = f32x4.mul(lanes == 4 ? v128.load(g) : v128.load32_splat(g), gm);
  const m0 = lanes == 4 ? v128.load(m) : v128.load32_splat(m);
  const v0 = lanes == 4 ? v128.load(v) : v128.load32_splat(v);
  const p0 = lanes == 4 ? v128.load(p) : v128.load32_splat(p);
  const mi = f32x4.add(f32x4.mul(b1, m0), f32x4.mul(c1, gv));
  const vi = f32x4.add(f32x4.mul(b2, v0), f32x4.mul(c2, f32x4.mul(gv, gv)));
  const upd = f32x4.div(f32x4.mul(mi, ib1), f32x4.add(f32x4.sqrt(f32x4.mul(vi, ib2)), eps));
  const p1 = f32x4.sub(p0, f32x4.mul(lr, f32x4.add(f32x4.mul(wd, p0), upd)));
  if (lanes == 4) {
    v128.store(m, mi);
    v128.store(v, vi);
    v128.store(p, p1);
  } else {
    v128.store32_lane(m, mi, 0);
    v128.store32_lane(v, vi, 0);
    v128.store32_lane(p, p1, 0);
  }
}

/**
 * This thread's share of one AdamW step on n elements: g = grad * gradMul, m = b1 m + (1-b1) g,
 * v = b2 v + (1-b2) g^2, param -= lr * (wd * param + m invBc1 / (sqrt(v invBc2) + eps)).
 * oneMinusB1/oneMinusB2 come from the caller (computed in f64).
 */
export function adamwJob(
  param: usize,
  grad: usize,
  m: usize,
  v: usize,
  n: i32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  oneMinusB1: f32,
  oneMinusB2: f32,
  eps: f32,
  weightDecay: f32,
  gradMul: f32,
  invBc1: f32,
  invBc2: f32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const b1 = f32x4.splat(beta1);
  const c1 = f32x4.splat(oneMinusB1);
  const b2 = f32x4.splat(beta2);
  const c2 = f32x4.splat(oneMinusB2);
  const gm = f32x4.splat(gradMul);
  const ib1 = f32x4.splat(invBc1);
  const ib2 = f32x4.splat(invBc2);
  const ep = f32x4.splat(eps);
  const wd = f32x4.splat(weightDecay);
  const lv = f32x4.splat(lr);
  const count = cdiv(n, CHUNK);
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const i1 = imin(n, (item + 1) * CHUNK);
    let i = item * CHUNK;
    for (; i + 4 <= i1; i += 4) adamw4(at(param, i), at(grad, i), at(m, i), at(v, i), b1, c1, b2, c2, gm, ib1, ib2, ep, wd, lv, 4);
    for (; i < i1; i++) adamw4(at(param, i), at(grad, i), at(m, i), at(v, i), b1, c1, b2, c2, gm, ib1, ib2, ep, wd, lv, 1);
  }
}

/** partials[item] (f64) = sum of x^2 over chunk `item` of x (n floats), squares exact in f64. */
export function sumSquaresJob(x: usize, partials: usize, n: i32, counter: usize, threads: i32, scratch: usize): void {
  const count = cdiv(n, CHUNK);
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const i1 = imin(n, (item + 1) * CHUNK);
    let i = item * CHUNK;
    let a0 = f64x2.splat(0);
    let a1 = f64x2.splat(0);
    for (; i + 4 <= i1; i += 4) {
      const v = v128.load(at(x, i));
      const lo = f64x2.promote_low_f32x4(v);
      const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
      a0 = f64x2.add(a0, f64x2.mul(lo, lo));
      a1 = f64x2.add(a1, f64x2.mul(hi, hi));
    }
    const s = f64x2.add(a0, a1);
    let t = f64x2.extract_lane(s, 0) + f64x2.extract_lane(s, 1);
    for (; i < i1; i++) {
      const e = <f64>load<f32>(at(x, i));
      t += e * e;
    }
    store<f64>(partials + (<usize>item << 3), t);
  }
}
