// Sum of squares of many f32 tensors into out (1), deterministic two-stage reduction.
// Entry `partial`: per tensor, one workgroup (256 threads) per chunk of 256 * PER elements writes
//   partials[p_base + chunk] (tree-reduced in workgroup memory). Bindings: 1 partials (rw), 2 x.
// Entry `finish`: one workgroup sums partials[0 .. count) in a fixed order into out[0] (overwrite).
//   Bindings: 1 out (rw), 2 partials.
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
@group(0) @binding(2) var<storage, read> x: array<f32>;

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
  if (start >= p.n) {
    return;
  }
  var acc = 0.0;
  for (var k = 0u; k < PER; k++) {
    let i = start + k * 256u + lid;
    if (i < p.n) {
      let v = x[p.x_off + i];
      acc += v * v;
    }
  }
  let tot = tree(lid, acc);
  if (lid == 0u) {
    out[p.o_off + p.p_base + chunk] = tot;
  }
}

@compute @workgroup_size(256)
fn finish(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < p.n; i += 256u) {
    acc += x[p.x_off + i];
  }
  let tot = tree(lid, acc);
  if (lid == 0u) {
    out[p.o_off] = tot;
  }
}
