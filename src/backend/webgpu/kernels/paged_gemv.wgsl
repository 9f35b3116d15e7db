// Decode-path linear layer (the paged engine's small-M matmul): out (M, N) = x (M, K) @ w (N, K)^T,
// or out += it (ACCUM = 1, e.g. the residual add). f32, K % 4 == 0, x and w offsets multiples of 4
// (the host checks). One workgroup of 256 threads computes 16 outputs columns (rows of w) for every
// row of x: 16 lanes per column stream w as vec4 (coalesced 256-byte row segments), each keeps MR
// row accumulators; lane partials are summed through workgroup memory. Rows of x go MR at a time.
// Bindings: 0 params; 1 out f32 (rw); 2 x vec4<f32>; 3 w vec4<f32>. Not for large M (use matmul).

override ACCUM: u32 = 0u;

const COLS: u32 = 16u;
const LANES: u32 = 16u;
const MR: u32 = 4u;

struct Params {
  o_off: u32,
  x_off: u32,
  w_off: u32,
  m: u32,
  n: u32,
  k4: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<vec4<f32>>;

var<workgroup> red: array<f32, MR * COLS * LANES>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let col0 = linear_wg(wid, nwg) * COLS;
  if (col0 >= p.n) {
    return;
  }
  let lane = lid % LANES;
  let c = lid / LANES;
  let col = col0 + c;
  let x0 = p.x_off / 4u;
  let w0 = p.w_off / 4u + col * p.k4;
  for (var m0 = 0u; m0 < p.m; m0 += MR) {
    var acc: array<f32, MR>;
    for (var r = 0u; r < MR; r++) {
      acc[r] = 0.0;
    }
    if (col < p.n) {
      let rows = min(MR, p.m - m0);
      for (var k = lane; k < p.k4; k += LANES) {
        let wv = w[w0 + k];
        for (var r = 0u; r < MR; r++) {
          if (r < rows) {
            acc[r] += dot(wv, x[x0 + (m0 + r) * p.k4 + k]);
          }
        }
      }
    }
    for (var r = 0u; r < MR; r++) {
      red[(r * COLS + c) * LANES + lane] = acc[r];
    }
    workgroupBarrier();
    if (lid < MR * COLS) {
      let r = lid / COLS;
      let cc = lid % COLS;
      if (m0 + r < p.m && col0 + cc < p.n) {
        var s = 0.0;
        for (var l = 0u; l < LANES; l++) {
          s += red[lid * LANES + l];
        }
        let o = p.o_off + (m0 + r) * p.n + col0 + cc;
        if (ACCUM == 1u) {
          out[o] = s + out[o];
        } else {
          out[o] = s;
        }
      }
    }
    workgroupBarrier();
  }
}
