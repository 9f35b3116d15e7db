// Shared helpers of the wasm kernels (AssemblyScript): integer maths, the work-stealing counter
// every thread of one job draws items from, and a 4x4 f32 transpose for packing.
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

/** Byte address of element `i` (f32) after `base`. */
@inline export function at(base: usize, i: i32): usize {
  return base + (<usize>i << 2);
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
