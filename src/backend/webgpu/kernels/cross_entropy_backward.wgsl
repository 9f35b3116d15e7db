// Cross entropy backward given the forward's lse (cross_entropy.wgsl), elementwise, with the
// lanes_*.wgsl helpers (FV = f32 or vec4<f32>): dLogits[r, j] = scale * (exp(logits[r, j] -
// lse[r]) - [j == t]); 0 for rows with t < 0. One workgroup (256 threads) per row (linear_wg).
// One read and one write of (N, V): 2 * N * V * 4 bytes (1.07 GB at N 16384, V 8192).
// Bindings: 0 params {o_off, l_off, t_off, s_off, n, v, scale}; 1 dLogits (rw); 2 logits;
// 3 targets (i32); 4 lse.

struct Params {
  o_off: u32,
  l_off: u32,
  t_off: u32,
  s_off: u32,
  n: u32,
  v: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<FV>;
@group(0) @binding(2) var<storage, read> logits: array<FV>;
@group(0) @binding(3) var<storage, read> targets: array<i32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let r = linear_wg(wid, nwg);
  if (r >= p.n) {
    return;
  }
  let vw = p.v / LANES;
  let src = p.l_off / LANES + r * vw;
  let dst = p.o_off / LANES + r * vw;
  let t = targets[p.t_off + r];
  let l = lse[p.s_off + r];
  for (var j = lid; j < vw; j += 256u) {
    if (t < 0) {
      out[dst + j] = FV(0.0);
    } else {
      out[dst + j] = p.scale * (exp(logits[src + j] - l) - onehot(j * LANES, t));
    }
  }
}
