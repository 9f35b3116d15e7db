// Lane helpers for streaming kernels with a vec4 twin (not a kernel): `kernel(name, 1)` in
// ../kernel-source.ts puts this after common.wgsl, `kernel(name, 4)` puts lanes_vec4.wgsl instead.
// FV is the streamed element (f32 here); arrays of FV index elements / LANES; offsets passed in
// elements are divided by LANES (the host picks 4 only when every offset and row is 4-aligned).

alias FV = f32;
const LANES: u32 = 1u;

fn hsum(x: FV) -> f32 {
  return x;
}

fn hmax(x: FV) -> f32 {
  return x;
}

// Element k (< LANES) of x.
fn lane(x: FV, k: u32) -> f32 {
  return x;
}

// 1 where element index (first + k) == t, else 0.
fn onehot(first: u32, t: i32) -> FV {
  return select(0.0, 1.0, i32(first) == t);
}
