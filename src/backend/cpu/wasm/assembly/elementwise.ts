// Elementwise f32 ops over n elements in fixed chunks split over threads: out = alpha * a + beta * b
// (add) and out = alpha * a (scale, b unused). out may alias a or b (each element is read before
// it is written).
import { at, cdiv, imin, nextItem } from "./common";
import { CHUNK } from "./optim";

export const EW_ADD: i32 = 0;
export const EW_SCALE: i32 = 1;

export function elementwiseJob(
  op: i32,
  out: usize,
  a: usize,
  b: usize,
  n: i32,
  alpha: f32,
  beta: f32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const count = cdiv(n, CHUNK);
  const al = f32x4.splat(alpha);
  const be = f32x4.splat(beta);
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const i1 = imin(n, (item + 1) * CHUNK);
    let i = item * CHUNK;
    if (op == EW_SCALE) {
      for (; i + 4 <= i1; i += 4) v128.store(at(out, i), f32x4.mul(v128.load(at(a, i)), al));
      for (; i < i1; i++) store<f32>(at(out, i), load<f32>(at(a, i)) * alpha);
    } else {
      for (; i + 4 <= i1; i += 4) {
        v128.store(at(out, i), f32x4.add(f32x4.mul(v128.load(at(a, i)), al), f32x4.mul(v128.load(at(b, i)), be)));
      }
      for (; i < i1; i++) store<f32>(at(out, i), load<f32>(at(a, i)) * alpha + load<f32>(at(b, i)) * beta);
    }
  }
}
