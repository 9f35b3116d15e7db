// RMSNorm forward, f32: one workgroup (256 threads) per row r of x (N, C), linear_wg grid:
// rstd[r] = 1 / sqrt(mean(x[r]^2) + eps); out[r] = x[r] * rstd[r] * weight.
// Bindings: 0 params {o_off, r_off, x_off, w_off, n, c, eps}; 1 out (rw); 2 rstd (rw); 3 x; 4 weight.

struct Params {
  o_off: u32,
  r_off: u32,
  x_off: u32,
  w_off: u32,
  n: u32,
  c: u32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let r = linear_wg(wid, nwg);
  if (r >= p.n) {
    return;
  }
  let x0 = p.x_off + r * p.c;
  var ss = 0.0;
  for (var j = lid; j < p.c; j += 256u) {
    let v = x[x0 + j];
    ss += v * v;
  }
  red[lid] = ss;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let rs = 1.0 / sqrt(red[0] / f32(p.c) + p.eps);
  for (var j = lid; j < p.c; j += 256u) {
    out[p.o_off + r * p.c + j] = x[x0 + j] * rs * weight[p.w_off + j];
  }
  if (lid == 0u) {
    rstd[p.r_off + r] = rs;
  }
}
