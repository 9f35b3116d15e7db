// Split-K reduce: out[b, i] = alpha * sum_s part[b * splits + s, i] (+ out[b, i] if accumulate).
// part: (batch * splits, n) f32 partial products from matmul_tiled.wgsl; out: (batch, n) f32.
// The splits are summed in a fixed order (s = 0, 1, ...): deterministic. One thread per element,
// 256 per workgroup, 1-D/2-D grid via linear_wg. It does not scale or accumulate the partials.

struct Params {
  n: u32,
  splits: u32,
  total: u32,
  pOff: u32,
  oOff: u32,
  alpha: f32,
  accumulate: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> part: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_wg(wid, nwg) * 256u + lid;
  if (t >= p.total) {
    return;
  }
  let b = t / p.n;
  let i = t - b * p.n;
  var src = p.pOff + b * p.splits * p.n + i;
  var acc = 0.0;
  for (var s = 0u; s < p.splits; s++) {
    acc += part[src];
    src += p.n;
  }
  var x = p.alpha * acc;
  let o = p.oOff + t;
  if (p.accumulate != 0u) {
    x += out[o];
  }
  out[o] = x;
}
