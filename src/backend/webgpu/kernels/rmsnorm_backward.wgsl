// RMSNorm backward, f32. x, dOut, dx: (N, C); weight, dWeight: (C); rstd: (N).
// Entry `dx`: one workgroup (256 threads) per row (linear_wg): dot = sum(dy * w * x);
//   dx = rstd * w * dy - x * rstd^3 * dot / C, or += when ACCUMULATE = 1.
// Entry `dw_partial`: dWeight stage 1, thread per (column j, block of ROWS rows): workgroup_id.x =
//   column chunk of 256, linear (y, z) = block; partial[blk * C + j] = sum_rows dy * x * rstd.
// Entry `dw_reduce`: stage 2, thread per column: dWeight[j] += sum over blocks in order (uses
//   bindings 1 = dWeight, 2 = partial only). Deterministic: no atomics.
// Bindings: 0 params {o_off, g_off, x_off, w_off, r_off, n, c, blocks}; 1 out (rw: dx | partial |
//   dWeight); 2 dOut (or partial for dw_reduce); 3 x; 4 weight; 5 rstd.

override ACCUMULATE: u32 = 0u;
const ROWS: u32 = 32u;

struct Params {
  o_off: u32,
  g_off: u32,
  x_off: u32,
  w_off: u32,
  r_off: u32,
  n: u32,
  c: u32,
  blocks: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> rstd: array<f32>;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn dx(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
      @builtin(local_invocation_index) lid: u32) {
  let r = linear_wg(wid, nwg);
  if (r >= p.n) {
    return;
  }
  let x0 = p.x_off + r * p.c;
  let g0 = p.g_off + r * p.c;
  var dot = 0.0;
  for (var j = lid; j < p.c; j += 256u) {
    dot += dy[g0 + j] * weight[p.w_off + j] * x[x0 + j];
  }
  red[lid] = dot;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let rs = rstd[p.r_off + r];
  let coef = rs * rs * rs * red[0] / f32(p.c);
  for (var j = lid; j < p.c; j += 256u) {
    let v = rs * weight[p.w_off + j] * dy[g0 + j] - x[x0 + j] * coef;
    let o = p.o_off + r * p.c + j;
    if (ACCUMULATE == 1u) {
      out[o] += v;
    } else {
      out[o] = v;
    }
  }
}

@compute @workgroup_size(256)
fn dw_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let blk = wid.y + wid.z * nwg.y;
  let j = wid.x * 256u + lid;
  if (blk >= p.blocks || j >= p.c) {
    return;
  }
  var acc = 0.0;
  let r1 = min(p.n, (blk + 1u) * ROWS);
  for (var r = blk * ROWS; r < r1; r++) {
    acc += dy[p.g_off + r * p.c + j] * x[p.x_off + r * p.c + j] * rstd[p.r_off + r];
  }
  out[p.o_off + blk * p.c + j] = acc;
}

@compute @workgroup_size(256)
fn dw_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let j = linear_wg(wid, nwg) * 256u + lid;
  if (j >= p.c) {
    return;
  }
  var acc = 0.0;
  for (var b = 0u; b < p.blocks; b++) {
    acc += dy[p.g_off + b * p.c + j];
  }
  out[p.o_off + j] += acc;
}
