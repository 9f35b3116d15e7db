// Cross entropy over logits rows (f32, row-major (N, V)), rows split over the job's threads:
// the forward writes losses (N) and each row's logsumexp to a side buffer lse (N); the backward
// writes dLogits = scale * (softmax - onehot) from that lse (one exp per logit), or recomputes it.
// Target -1: loss 0, gradient row 0. Targets are validated by the caller to lie in [-1, V).
import { at, cdiv, imin, nextItem, rowsPerItem } from "./common";
import { exp1, exp4, hmax4, hsum4 } from "./vmath";

/** logsumexp of v floats at p: max pass, then a sum of e^(x - max) (the row is in L1 by then). */
export function rowLse(p: usize, v: i32): f32 {
  let m4 = f32x4.splat(-Infinity);
  let i: i32 = 0;
  for (; i + 8 <= v; i += 8) {
    m4 = f32x4.max(m4, f32x4.max(v128.load(at(p, i)), v128.load(at(p, i), 16)));
  }
  for (; i + 4 <= v; i += 4) m4 = f32x4.max(m4, v128.load(at(p, i)));
  let m = hmax4(m4);
  for (; i < v; i++) m = max<f32>(m, load<f32>(at(p, i)));
  if (m == -Infinity) return -Infinity;
  const mv = f32x4.splat(m);
  let s0 = f32x4.splat(0);
  let s1 = f32x4.splat(0);
  i = 0;
  for (; i + 8 <= v; i += 8) {
    s0 = f32x4.add(s0, exp4(f32x4.sub(v128.load(at(p, i)), mv)));
    s1 = f32x4.add(s1, exp4(f32x4.sub(v128.load(at(p, i), 16), mv)));
  }
  for (; i + 4 <= v; i += 4) s0 = f32x4.add(s0, exp4(f32x4.sub(v128.load(at(p, i)), mv)));
  let s = hsum4(f32x4.add(s0, s1));
  for (; i < v; i++) s += exp1(load<f32>(at(p, i)) - m);
  return m + <f32>Math.log(<f64>s);
}

/** This thread's share of a forward: losses[r] = lse - logits[r, t] (0 if t < 0); lse[r] always. */
export function crossEntropyJob(
  logits: usize,
  targets: usize,
  losses: usize,
  lse: usize,
  n: i32,
  v: i32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const per = rowsPerItem(n, threads);
  const count = cdiv(n, per);
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const r1 = imin(n, (item + 1) * per);
    for (let r = item * per; r < r1; r++) {
      const row = at(logits, r * v);
      const l = rowLse(row, v);
      store<f32>(at(lse, r), l);
      const t = load<i32>(at(targets, r));
      store<f32>(at(losses, r), t < 0 ? 0 : l - load<f32>(at(row, t)));
    }
  }
}

/**
 * This thread's share of a backward: dLogits[r] = scale * (e^(logits[r] - lse[r]) - onehot(t)),
 * 0 for t < 0. With haveLse 0 each row's lse is recomputed (lse is then not read). dLogits may be
 * logits itself (each row is read in full before it is written).
 */
export function crossEntropyBackwardJob(
  dLogits: usize,
  logits: usize,
  targets: usize,
  lse: usize,
  n: i32,
  v: i32,
  scale: f32,
  haveLse: i32,
  counter: usize,
  threads: i32,
  scratch: usize,
): void {
  const per = rowsPerItem(n, threads);
  const count = cdiv(n, per);
  const sc = f32x4.splat(scale);
  for (let item = nextItem(counter); item < count; item = nextItem(counter)) {
    const r1 = imin(n, (item + 1) * per);
    for (let r = item * per; r < r1; r++) {
      const x = at(logits, r * v);
      const d = at(dLogits, r * v);
      const t = load<i32>(at(targets, r));
      if (t < 0) {
        memory.fill(d, 0, <usize>v << 2);
        continue;
      }
      const l = haveLse != 0 ? load<f32>(at(lse, r)) : rowLse(x, v);
      const lv = f32x4.splat(l);
      const xt = load<f32>(at(x, t));
      let i: i32 = 0;
      for (; i + 8 <= v; i += 8) {
        const a = exp4(f32x4.sub(v128.load(at(x, i)), lv));
        const b = exp4(f32x4.sub(v128.load(at(x, i), 16), lv));
        v128.store(at(d, i), f32x4.mul(a, sc));
        v128.store(at(d, i), f32x4.mul(b, sc), 16);
      }
      for (; i + 4 <= v; i += 4) v128.store(at(d, i), f32x4.mul(exp4(f32x4.sub(v128.load(at(x, i)), lv)), sc));
      for (; i < v; i++) store<f32>(at(d, i), exp1(load<f32>(at(x, i)) - l) * scale);
      store<f32>(at(d, t), (exp1(xt - l) - 1) * scale);
    }
  }
}
