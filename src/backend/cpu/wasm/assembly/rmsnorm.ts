// RMSNorm over rows of x (N, C), f32: forward out = x * rstd * weight, rstd (N) = 1/sqrt(mean x^2
// + eps); backward dx = rstd * w * dy - x * rstd^3 / C * sum(dy * w * x) (overwrite or +=) and one
// partial dWeight row per work item (items of NORM_ROWS rows, fixed: the caller sums the partials
// in item order, so dWeight does not depend on the thread count). dx may alias dOut or x.
import { at, cdiv, imin, nextItem, rowsPerItem } from "./common";
import { hsum4 } from "./vmath";

/** Rows per item of the backward (its dWeight partials are (cdiv(N, NORM_ROWS), C) floats). */
export const NORM_ROWS: i32 = 32;

export function rmsnormJob(
  out: usize,
  rstd: usize,
  x: usize,
  weight: usize,
  n: i32,
  c: i32,
  eps: f32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const per = rowsPerItem(n, threads);
  const count = cdiv(n, per);
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const r1 = imin(n, (item + 1) * per);
    for (let r = item * per; r < r1; r++) {
      const xr = at(x, r * c);
      const o = at(out, r * c);
      let acc = f32x4.splat(0);
      let j: i32 = 0;
      for (; j + 4 <= c; j += 4) {
        const v = v128.load(at(xr, j));
        acc = f32x4.add(acc, f32x4.mul(v, v));
      }
      let ss = hsum4(acc);
      for (; j < c; j++) ss += load<f32>(at(xr, j)) * load<f32>(at(xr, j));
      const rs = <f32>(1.0 / Math.sqrt(<f64>ss / <f64>c + <f64>eps));
      store<f32>(at(rstd, r), rs);
      const rv = f32x4.splat(rs);
      j = 0;
      for (; j + 4 <= c; j += 4) {
        v128.store(at(o, j), f32x4.mul(f32x4.mul(v128.load(at(xr, j)), rv), v128.load(at(weight, j))));
      }
      for (; j < c; j++) store<f32>(at(o, j), load<f32>(at(xr, j)) * rs * load<f32>(at(weight, j)));
    }
  }
}

// dx for one row (+= when acc) and dWeight partial pw += dy * x * rs.
@inline function backRow(dx: usize, dy: usize, xr: usize, w: usize, pw: usize, rs: f32, c: i32, acc: bool): void {
  let d4 = f32x4.splat(0);
  let j: i32 = 0;
  for (; j + 4 <= c; j += 4) {
    d4 = f32x4.add(d4, f32x4.mul(f32x4.mul(v128.load(at(dy, j)), v128.load(at(w, j))), v128.load(at(xr, j))));
  }
  let dot = hsum4(d4);
  for (; j < c; j++) dot += load<f32>(at(dy, j)) * load<f32>(at(w, j)) * load<f32>(at(xr, j));
  const coef = (rs * rs * rs * dot) / <f32>c;
  const rv = f32x4.splat(rs);
  const cv = f32x4.splat(coef);
  j = 0;
  for (; j + 4 <= c; j += 4) {
    const g = v128.load(at(dy, j));
    const xv = v128.load(at(xr, j));
    let v = f32x4.sub(f32x4.mul(f32x4.mul(rv, v128.load(at(w, j))), g), f32x4.mul(xv, cv));
    if (acc) v = f32x4.add(v, v128.load(at(dx, j)));
    v128.store(at(pw, j), f32x4.add(v128.load(at(pw, j)), f32x4.mul(f32x4.mul(g, xv), rv)));
    v128.store(at(dx, j), v);
  }
  for (; j < c; j++) {
    const g = load<f32>(at(dy, j));
    const xv = load<f32>(at(xr, j));
    let v = rs * load<f32>(at(w, j)) * g - xv * coef;
    if (acc) v += load<f32>(at(dx, j));
    store<f32>(at(pw, j), load<f32>(at(pw, j)) + g * xv * rs);
    store<f32>(at(dx, j), v);
  }
}

/** This thread's share of a backward; partials: (cdiv(n, NORM_ROWS), c) f32, overwritten. */
export function rmsnormBackwardJob(
  dx: usize,
  partials: usize,
  dOut: usize,
  x: usize,
  weight: usize,
  rstd: usize,
  n: i32,
  c: i32,
  accumulate: i32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const count = cdiv(n, NORM_ROWS);
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const pw = at(partials, item * c);
    memory.fill(pw, 0, <usize>c << 2);
    const r1 = imin(n, (item + 1) * NORM_ROWS);
    for (let r = item * NORM_ROWS; r < r1; r++) {
      const o = r * c;
      backRow(at(dx, o), at(dOut, o), at(x, o), weight, pw, load<f32>(at(rstd, r)), c, accumulate != 0);
    }
  }
}
