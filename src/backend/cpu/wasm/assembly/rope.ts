// Rotary embedding (HF Llama rotate_half: pairs i and i + D/2 within each head) over x (N, Hx, D)
// f32, rows split over threads. cos/sin come from tables (P, D/2) f32 built by the caller for
// every position in use: cosT[pos * D/2 + i] = cos(pos * base^(-2i/D)). inverse rotates by -angle.
// out may alias x (each pair is read before it is written).
import { at, cdiv, imin, nextItem, rowsPerItem } from "./common";

@inline function rot(o1: usize, o2: usize, x1: v128, x2: v128, cs: v128, sn: v128, lanes: i32): void {
  const a = f32x4.sub(f32x4.mul(x1, cs), f32x4.mul(x2, sn));
  const b = f32x4.add(f32x4.mul(x2, cs), f32x4.mul(x1, sn));
  if (lanes == 4) {
    v128.store(o1, a);
    v128.store(o2, b);
  } else {
    v128.store32_lane(o1, a, 0);
    v128.store32_lane(o2, b, 0);
  }
}

export function ropeJob(
  out: usize,
  x: usize,
  positions: usize,
  cosT: usize,
  sinT: usize,
  n: i32,
  heads: i32,
  d: i32,
  inverse: i32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const half = d >> 1;
  const sign = f32x4.splat(inverse != 0 ? -1.0 : 1.0);
  const per = rowsPerItem(n, threads);
  const count = cdiv(n, per);
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const r1 = imin(n, (item + 1) * per);
    for (let r = item * per; r < r1; r++) {
      const t = load<i32>(at(positions, r)) * half;
      const ct = at(cosT, t);
      const st = at(sinT, t);
      for (let h: i32 = 0; h < heads; h++) {
        const xi = at(x, (r * heads + h) * d);
        const oi = at(out, (r * heads + h) * d);
        let i: i32 = 0;
        for (; i + 4 <= half; i += 4) {
          const sn = f32x4.mul(v128.load(at(st, i)), sign);
          rot(at(oi, i), at(oi, i + half), v128.load(at(xi, i)), v128.load(at(xi, i + half)), v128.load(at(ct, i)), sn, 4);
        }
        for (; i < half; i++) {
          const sn = f32x4.mul(v128.load32_splat(at(st, i)), sign);
          const x1 = v128.load32_splat(at(xi, i));
          rot(at(oi, i), at(oi, i + half), x1, v128.load32_splat(at(xi, i + half)), v128.load32_splat(at(ct, i)), sn, 1);
        }
      }
    }
  }
}
