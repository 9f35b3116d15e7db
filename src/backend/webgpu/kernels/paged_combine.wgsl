// pagedAttention's combine step (flash-decoding): merges the per-split partials (m, l, acc[HD])
// written by the `partials` kernels into out (N, H, HD) and optionally lse (N, H).
// One workgroup per (row, head), its threads spread over the splits, so the latency of a merge
// does not grow with the split count: the max and the weights exp(m_s - max) (kept in workgroup
// memory) and sum l = sum l_s w_s by tree reductions, then (dims x split groups) threads sum
// acc_s[d] w_s with four loads in flight each, and group 0 adds the groups' sums.
// An empty split has m = -1e30 and l = 0, so its weight is 0. n_split <= MAXS (host checks).
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

const WG: u32 = 128u;
const MAXS: u32 = 1024u;

var<workgroup> wts: array<f32, MAXS>;
var<workgroup> red: array<f32, WG>;

// Tree reduction of red[0 .. width) into red[0] (max or sum; width a power of two <= WG, the
// entries past the splits holding the identity); every thread must call it.
fn reduce(lid: u32, is_max: bool, width: u32) -> f32 {
  workgroupBarrier();
  for (var st = width / 2u; st > 0u; st >>= 1u) {
    if (lid < st) {
      red[lid] = select(red[lid] + red[lid + st], max(red[lid], red[lid + st]), is_max);
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier(); // red is reused
  return r;
}

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let rh = linear_wg(wid, nwg);
  if (rh >= p.n * p.h) {
    return;
  }
  let ns = p.n_split;
  // the reductions span the threads that hold a split (4 at batch 1, context 512), not all WG
  var width = 1u;
  while (width < min(ns, WG)) {
    width <<= 1u;
  }
  let stride = p.hd + 2u;
  let base = p.part_off + rh * ns * stride;
  var m = -1e30;
  for (var s = lid; s < ns; s += WG) {
    m = max(m, part[base + s * stride]);
  }
  red[lid] = m;
  let mx = reduce(lid, true, width);
  var l = 0.0;
  for (var s = lid; s < ns; s += WG) {
    let o = base + s * stride;
    let w = exp(part[o] - mx);
    wts[s] = w;
    l += part[o + 1u] * w;
  }
  red[lid] = l;
  let lsum = reduce(lid, false, width); // its barriers also publish wts
  let lanes = min(p.hd, WG);
  let groups = WG / lanes;
  let g = lid / lanes;
  let dl = lid % lanes;
  for (var d0 = 0u; d0 < p.hd; d0 += lanes) {
    let d = d0 + dl;
    var x = 0.0;
    if (g < groups && d < p.hd) {
      let o = base + 2u + d;
      var s = g;
      for (; s + 3u * groups < ns; s += 4u * groups) {
        let a0 = part[o + s * stride];
        let a1 = part[o + (s + groups) * stride];
        let a2 = part[o + (s + 2u * groups) * stride];
        let a3 = part[o + (s + 3u * groups) * stride];
        x += a0 * wts[s] + a1 * wts[s + groups] + a2 * wts[s + 2u * groups] + a3 * wts[s + 3u * groups];
      }
      for (; s < ns; s += groups) {
        x += part[o + s * stride] * wts[s];
      }
    }
    red[lid] = x;
    workgroupBarrier();
    if (g == 0u && d < p.hd) {
      var t = 0.0;
      for (var j = 0u; j < groups; j++) {
        t += red[j * lanes + dl];
      }
      out[p.o_off + rh * p.hd + d] = t / lsum;
    }
    workgroupBarrier();
  }
  if (p.has_lse != 0u && lid == 0u) {
    lse[p.l_off + rh] = mx + log(lsum);
  }
}
