// SwiGLU over rows: gu (N, 2F) = [gate | up], out (N, F) = silu(gate) * up, and its backward
// dGu (N, 2F) from dOut (N, F) (overwritten; dGu may be gu itself). f32, rows split over threads;
// silu(g) = g * sigmoid(g) with the vector exp of vmath.ts.
import { at, cdiv, imin, nextItem, rowsPerItem } from "./common";
import { sigmoid4 } from "./vmath";

@inline function fwd4(g: v128, u: v128): v128 {
  return f32x4.mul(f32x4.mul(g, sigmoid4(g)), u);
}

export function swigluJob(out: usize, gu: usize, n: i32, f: i32, counter: usize, threads: i32, scratch: usize): void {
  const per = rowsPerItem(n, threads);
  const count = cdiv(n, per);
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const r1 = imin(n, (item + 1) * per);
    for (let r = item * per; r < r1; r++) {
      const g = at(gu, r * 2 * f);
      const u = at(g, f);
      const o = at(out, r * f);
      let j: i32 = 0;
      for (; j + 4 <= f; j += 4) v128.store(at(o, j), fwd4(v128.load(at(g, j)), v128.load(at(u, j))));
      for (; j < f; j++) {
        const y = fwd4(v128.load32_splat(at(g, j)), v128.load32_splat(at(u, j)));
        v128.store32_lane(at(o, j), y, 0);
      }
    }
  }
}

// d gate = dy * u * s * (1 + g (1 - s)), d up = dy * g * s, with s = sigmoid(g)
@inline function bwd4(g: v128, u: v128, dy: v128, dg: usize, du: usize, lanes: i32): void {
  const s = sigmoid4(g);
  const one = f32x4.splat(1.0);
  const gs = f32x4.mul(g, s);
  const a = f32x4.mul(f32x4.mul(f32x4.mul(dy, u), s), f32x4.add(one, f32x4.sub(g, gs)));
  const b = f32x4.mul(dy, gs);
  if (lanes == 4) {
    v128.store(dg, a);
    v128.store(du, b);
  } else {
    v128.store32_lane(dg, a, 0);
    v128.store32_lane(du, b, 0);
  }
}

export function swigluBackwardJob(
  dGu: usize,
  dOut: usize,
  gu: usize,
  n: i32,
  f: i32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const per = rowsPerItem(n, threads);
  const count = cdiv(n, per);
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const r1 = imin(n, (item + 1) * per);
    for (let r = item * per; r < r1; r++) {
      const g = at(gu, r * 2 * f);
      const u = at(g, f);
      const dg = at(dGu, r * 2 * f);
      const du = at(dg, f);
      const dy = at(dOut, r * f);
      let j: i32 = 0;
      for (; j + 4 <= f; j += 4) {
        bwd4(v128.load(at(g, j)), v128.load(at(u, j)), v128.load(at(dy, j)), at(dg, j), at(du, j), 4);
      }
      for (; j < f; j++) {
        const gv = v128.load32_splat(at(g, j));
        bwd4(gv, v128.load32_splat(at(u, j)), v128.load32_splat(at(dy, j)), at(dg, j), at(du, j), 1);
      }
    }
  }
}
