// Attention backward, last step for GQA/MQA: dk, dv (B, S, Hkv, D) = (dk, dv if accumulate) + the
// sum over SPLIT head splits of the partials (B, S, Hkv * SPLIT, D) that attention_bwd_kv.wgsl
// wrote. One thread per output element over a linear 1-D dispatch (see linear_wg).

struct Params {
  dk_off: u32,
  dv_off: u32,
  pk_off: u32,
  pv_off: u32,
  n: u32,
  D: u32,
  split: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dk: array<f32>;
@group(0) @binding(2) var<storage, read_write> dv: array<f32>;
@group(0) @binding(3) var<storage, read> pk: array<f32>;
@group(0) @binding(4) var<storage, read> pv: array<f32>;

@compute @workgroup_size(256, 1, 1)
fn main(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let e = linear_wg(wid, nwg) * 256u + lid.x;
  if (e >= p.n) {
    return;
  }
  let row = e / p.D;
  let d = e % p.D;
  var sk = 0.0;
  var sv = 0.0;
  for (var j = 0u; j < p.split; j++) {
    let i = (row * p.split + j) * p.D + d;
    sk += pk[p.pk_off + i];
    sv += pv[p.pv_off + i];
  }
  if (p.accumulate != 0u) {
    sk += dk[p.dk_off + e];
    sv += dv[p.dv_off + e];
  }
  dk[p.dk_off + e] = sk;
  dv[p.dv_off + e] = sv;
}
