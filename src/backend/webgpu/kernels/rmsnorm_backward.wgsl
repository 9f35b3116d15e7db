// RMSNorm backward, f32. x, dOut, dx: (N, C); weight, dWeight: (C); rstd: (N).
// Entry `fused`: one workgroup (256 threads) per block of ROWS rows (linear_wg); thread t owns
//   columns t, t + 256, .. (KC = ceil(C / 256) of them, weight kept in registers). Rows go G at a
//   time: dy and x loaded once into registers, the G row dots sum(dy * w * x) reduced together in
//   two barriers (vec4 lanes), then dx = rstd * w * dy - x * rstd^3 * dot / C (or += when
//   ACCUMULATE = 1) and this block's dWeight partial dwp[j] += dy * x * rstd (rows in order) are
//   written: partial[blk * C + j]. Each of dy and x is read once.
// Entry `dw_reduce`: dWeight[j] += sum over blocks in order of partial (bound as dy); one workgroup
//   per 8 columns, 32 lanes each summing blocks lane, lane + 32, .. then a fixed tree.
// Deterministic: no atomics. Bytes per call at N 16384, C 512: dy, x read (64 MB) + dx written
//   (32 MB; +32 MB read when accumulating) + 2 MB partials, 2 dispatches.
// Bindings: 0 params {o_off, g_off, x_off, w_off, r_off, n, c, blocks, p_off}; 1 dx | dWeight (rw);
//   2 dOut | partial; 3 x; 4 weight; 5 rstd; 6 partial (rw, fused only).

override ACCUMULATE: u32 = 0u;
override KC: u32 = 2u;
override G: u32 = 4u;
const ROWS: u32 = 16u;

struct Params {
  o_off: u32,
  g_off: u32,
  x_off: u32,
  w_off: u32,
  r_off: u32,
  n: u32,
  c: u32,
  blocks: u32,
  p_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> rstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> partial: array<f32>;

var<workgroup> redv: array<vec4<f32>, 256>;
var<workgroup> redv2: array<vec4<f32>, 32>;
var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256)
fn fused(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let blk = linear_wg(wid, nwg);
  let r0 = blk * ROWS;
  if (r0 >= p.n) {
    return;
  }
  let rEnd = min(p.n, r0 + ROWS);
  var w: array<f32, KC>;
  var dwp: array<f32, KC>;
  for (var k = 0u; k < KC; k++) {
    let j = lid + k * 256u;
    w[k] = 0.0;
    dwp[k] = 0.0;
    if (j < p.c) {
      w[k] = weight[p.w_off + j];
    }
  }
  for (var rg = r0; rg < rEnd; rg += G) {
    var gy: array<array<f32, KC>, G>;
    var xv: array<array<f32, KC>, G>;
    var dot = vec4<f32>(0.0);
    for (var g = 0u; g < G; g++) {
      let r = rg + g;
      for (var k = 0u; k < KC; k++) {
        let j = lid + k * 256u;
        gy[g][k] = 0.0;
        xv[g][k] = 0.0;
        if (r < rEnd && j < p.c) {
          gy[g][k] = dy[p.g_off + r * p.c + j];
          xv[g][k] = x[p.x_off + r * p.c + j];
          dot[g] += gy[g][k] * w[k] * xv[g][k];
        }
      }
    }
    redv[lid] = dot;
    workgroupBarrier();
    if (lid < 32u) {
      var s = vec4<f32>(0.0);
      for (var q = 0u; q < 8u; q++) {
        s += redv[lid + 32u * q];
      }
      redv2[lid] = s;
    }
    workgroupBarrier();
    var tot = vec4<f32>(0.0);
    for (var q = 0u; q < 32u; q++) {
      tot += redv2[q];
    }
    for (var g = 0u; g < G; g++) {
      let r = rg + g;
      if (r >= rEnd) {
        break;
      }
      let rs = rstd[p.r_off + r];
      let coef = rs * rs * rs * tot[g] / f32(p.c);
      for (var k = 0u; k < KC; k++) {
        let j = lid + k * 256u;
        if (j < p.c) {
          let v = rs * w[k] * gy[g][k] - xv[g][k] * coef;
          let o = p.o_off + r * p.c + j;
          if (ACCUMULATE == 1u) {
            out[o] += v;
          } else {
            out[o] = v;
          }
          dwp[k] += gy[g][k] * xv[g][k] * rs;
        }
      }
    }
  }
  for (var k = 0u; k < KC; k++) {
    let j = lid + k * 256u;
    if (j < p.c) {
      partial[p.p_off + blk * p.c + j] = dwp[k];
    }
  }
}

@compute @workgroup_size(256)
fn dw_reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let j = linear_wg(wid, nwg) * 8u + (lid & 7u);
  let lane = lid >> 3u;
  var acc = 0.0;
  if (j < p.c) {
    for (var b = lane; b < p.blocks; b += 32u) {
      acc += dy[p.g_off + b * p.c + j];
    }
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var s = 128u; s >= 8u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  if (lid < 8u && j < p.c) {
    out[p.o_off + j] += red[lid];
  }
}
