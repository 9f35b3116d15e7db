// pagedAttention's combine step (flash-decoding): merges the per-split partials (m, l, acc[HD])
// written by paged_attention.wgsl `partials` into out (N, H, HD) and optionally lse (N, H).
// One thread per output element (row, head, d); each loops over the n_split partials twice.
// An empty split has m = -1e30 and l = 0, so its weight exp(m - max m) is 0.
// Bindings: 0 params; 1 out f32 (rw); 2 lse f32 (rw; a dummy when has_lse = 0); 3 part f32.

struct Params {
  o_off: u32,
  l_off: u32,
  part_off: u32,
  n: u32,
  h: u32,
  hd: u32,
  n_split: u32,
  has_lse: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> part: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_wg(wid, nwg) * 256u + lid;
  if (e >= p.n * p.h * p.hd) {
    return;
  }
  let rh = e / p.hd;
  let d = e - rh * p.hd;
  let stride = p.hd + 2u;
  let base = p.part_off + rh * p.n_split * stride;
  var m = -1e30;
  for (var s = 0u; s < p.n_split; s++) {
    m = max(m, part[base + s * stride]);
  }
  var l = 0.0;
  var x = 0.0;
  for (var s = 0u; s < p.n_split; s++) {
    let o = base + s * stride;
    let wgt = exp(part[o] - m);
    l += part[o + 1u] * wgt;
    x += part[o + 2u + d] * wgt;
  }
  out[p.o_off + e] = x / l;
  if (p.has_lse != 0u && d == 0u) {
    lse[p.l_off + rh] = m + log(l);
  }
}
