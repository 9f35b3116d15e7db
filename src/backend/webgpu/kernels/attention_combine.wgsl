// Attention forward, key-split merge (flash-decoding): out (B, T, H, D) and lse (B, H, T) from the
// partials (m, l, acc[D]) of SPLITK key ranges that attention.wgsl `forward` wrote per row
// R = (b * H + h) * T + t at part[(R * SPLITK + j) * (D + 2)]. One thread per (R, d) element,
// linear 1-D dispatch; the d == 0 thread also writes lse (-inf when no split saw a key).

struct Params {
  out_off: u32,
  lse_off: u32,
  part_off: u32,
  n: u32,
  T: u32,
  H: u32,
  D: u32,
  splits: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> part: array<f32>;

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
  let D = p.D;
  let R = e / D;
  let d = e % D;
  let base = p.part_off + R * p.splits * (D + 2u);
  var mx = -1e30;
  for (var j = 0u; j < p.splits; j++) {
    mx = max(mx, part[base + j * (D + 2u) + D]);
  }
  var l = 0.0;
  var acc = 0.0;
  for (var j = 0u; j < p.splits; j++) {
    let o = base + j * (D + 2u);
    let w = exp(part[o + D] - mx);
    l += w * part[o + D + 1u];
    acc += w * part[o + d];
  }
  let t = R % p.T;
  let bh = R / p.T;
  let h = bh % p.H;
  let b = bh / p.H;
  out[p.out_off + ((b * p.T + t) * p.H + h) * D + d] = select(0.0, acc / l, l > 0.0);
  if (d == 0u) {
    let negInf = -bitcast<f32>(0x7f800000u | (p.T & 0u));
    lse[p.lse_off + R] = select(negInf, mx + log(l), l > 0.0);
  }
}
