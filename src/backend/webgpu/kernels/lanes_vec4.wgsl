// Lane helpers, vec4 twin of lanes_f32.wgsl (same names and meaning; not a kernel).

alias FV = vec4<f32>;
const LANES: u32 = 4u;

fn hsum(x: FV) -> f32 {
  return (x.x + x.y) + (x.z + x.w);
}

fn hmax(x: FV) -> f32 {
  return max(max(x.x, x.y), max(x.z, x.w));
}

fn lane(x: FV, k: u32) -> f32 {
  return x[k];
}

fn onehot(first: u32, t: i32) -> FV {
  let idx = vec4<i32>(i32(first)) + vec4<i32>(0, 1, 2, 3);
  return select(vec4<f32>(0.0), vec4<f32>(1.0), idx == vec4<i32>(t));
}
