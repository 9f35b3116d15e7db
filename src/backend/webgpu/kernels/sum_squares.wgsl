// Sum of squares of many f32 tensors into out (1), deterministic two-stage reduction, with the
// lanes_*.wgsl helpers (FV = f32 or vec4<f32>; n and x_off in elements, multiples of LANES).
// Entry `partial`: per tensor, one workgroup (256 threads) per chunk of 256 * PER FV elements writes
//   partials[p_base + chunk] (per-thread FV sums, hsum, then a tree in workgroup memory).
//   Bindings: 1 partials (rw, f32), 2 x (FV). Reads each element once: 4 bytes per element
//   (120 MB at 30M elements, in ~1.8K vec4 workgroups).
// Entry `finish` (dispatched from the f32 variant): one workgroup sums partials[0 .. count) in a
//   fixed order into out[0] (overwrite). Bindings: 1 out (rw), 2 partials.
// Params {o_off, x_off, n, p_base} (finish: n = count).

const PER: u32 = 16u;

struct Params {
  o_off: u32,
  x_off: u32,
  n: u32,
  p_base: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<FV>;

var<workgroup> red: array<f32, 256>;

fn tree(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  return red[0];
}

@compute @workgroup_size(256)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let chunk = linear_wg(wid, nwg);
  let start = chunk * 256u * PER;
  let nw = p.n / LANES;
  if (start >= nw) {
    return;
  }
  let x0 = p.x_off / LANES;
  var acc = FV(0.0);
  for (var k = 0u; k < PER; k++) {
    let i = start + k * 256u + lid;
    if (i < nw) {
      let v = x[x0 + i];
      acc += v * v;
    }
  }
  let tot = tree(lid, hsum(acc));
  if (lid == 0u) {
    out[p.o_off + p.p_base + chunk] = tot;
  }
}

@compute @workgroup_size(256)
fn finish(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.n; i += 256u) {
    acc += hsum(x[p.x_off + i]);
  }
  let tot = tree(lid, acc);
  if (lid == 0u) {
    out[p.o_off] = tot;
  }
}
