// Attention backward, step 1: delta (B, H, T) = rowsum(dO * O) over D, from dO, O (B, T, H, D).
// One thread per (b, t, h) row over a linear 1-D dispatch (rows / 64 workgroups, see linear_wg).
// attention.wgsl `backward_dq` and attention_bwd_kv.wgsl read delta next to lse.

struct Params {
  delta_off: u32,
  do_off: u32,
  o_off: u32,
  rows: u32,
  T: u32,
  H: u32,
  D: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> delta: array<f32>;
@group(0) @binding(2) var<storage, read> dO: array<f32>;
@group(0) @binding(3) var<storage, read> o: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let r = linear_wg(wid, nwg) * 64u + lid.x;
  if (r >= p.rows) {
    return;
  }
  let h = r % p.H;
  let bt = r / p.H;
  let t = bt % p.T;
  let b = bt / p.T;
  var s = 0.0;
  for (var d = 0u; d < p.D; d++) {
    s = fma(dO[p.do_off + r * p.D + d], o[p.o_off + r * p.D + d], s);
  }
  delta[p.delta_off + (b * p.H + h) * p.T + t] = s;
}
