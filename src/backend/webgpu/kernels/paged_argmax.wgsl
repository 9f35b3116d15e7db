// Greedy sampling on the device: out[m] = argmax of logits row m (M, V) f32, the lowest index on
// ties (as the host Sampler), or -1 when the row holds a NaN or +Infinity or only -Infinity (the
// host then reads the row and reports it). One workgroup of 256 threads per row: strided scan
// (U loads in flight per thread), then a tree reduction in workgroup memory.
// Bindings: 0 params; 1 out i32 (rw); 2 logits f32.

const WG: u32 = 256u;
const U: u32 = 8u; // logits each thread loads at once

struct Params {
  o_off: u32,
  l_off: u32,
  m: u32,
  v: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;

var<workgroup> best_v: array<f32, WG>;
var<workgroup> best_i: array<u32, WG>;
var<workgroup> bad: atomic<u32>;

// Is (v, i) better than (bv, bi)? Larger value, then lower index.
fn better(v: f32, i: u32, bv: f32, bi: u32) -> bool {
  return v > bv || (v == bv && i < bi);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = linear_wg(wid, nwg);
  if (row >= p.m) {
    return;
  }
  if (lid == 0u) {
    atomicStore(&bad, 0u);
  }
  workgroupBarrier();
  let base = p.l_off + row * p.v;
  var bv = -3.4028234e38; // below every finite logit but -FLT_MAX (a tie then goes by index)
  var bi = 0xffffffffu;
  var nonfinite = 0u;
  // U loads in flight per thread before any is compared (one at a time, each waited a memory
  // latency: 19 us for 128 rows of 8192 on an H100)
  for (var i0 = lid; i0 < p.v; i0 += U * WG) {
    var xs: array<f32, U>;
    for (var u = 0u; u < U; u++) {
      xs[u] = logits[base + min(i0 + u * WG, p.v - 1u)];
    }
    for (var u = 0u; u < U; u++) {
      let i = i0 + u * WG;
      let x = xs[u];
      let bits = bitcast<u32>(x);
      // NaN (exponent all ones, nonzero mantissa) or +Infinity
      if (i < p.v && ((bits & 0x7fffffffu) > 0x7f800000u || bits == 0x7f800000u)) {
        nonfinite = 1u;
      }
      if (i < p.v && bits != 0xff800000u && better(x, i, bv, bi)) {
        bv = x;
        bi = i;
      }
    }
  }
  if (nonfinite != 0u) {
    atomicOr(&bad, 1u);
  }
  best_v[lid] = bv;
  best_i[lid] = bi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = best_v[lid + s];
      let oi = best_i[lid + s];
      if (oi != 0xffffffffu && (best_i[lid] == 0xffffffffu || better(ov, oi, best_v[lid], best_i[lid]))) {
        best_v[lid] = ov;
        best_i[lid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let idx = best_i[0];
    out[p.o_off + row] = select(i32(idx), -1, atomicLoad(&bad) != 0u || idx == 0xffffffffu);
  }
}
