// Decode-path linear layer (the paged engine's small-M matmul): out (M, N) = x' (M, K) @ w (N, K)^T,
// or out += it (ACCUM = 1: the residual add). x' is x itself, or with NORM = 1 rmsnorm(x) * g
// (rstd = 1 / sqrt(mean(x^2) + eps) computed here, applied to the sums), or with SWIGLU = 1
// silu(gate) * up of x = [gate | up] (M, 2K). f32; K % 4 == 0; x, w, g offsets multiples of 4
// (the host checks). Workgroup (i, j) of 256 threads computes COLS output columns (rows of w) for
// rows MR j .. MR j + MR - 1 of x: 256 / COLS lanes per column stream w as vec4 (coalesced), each
// keeps MR row accumulators; lane partials are summed by a tree in workgroup memory. COLS = 4
// (64 lanes: short K loops, many workgroups; the plain entry at batch 1) or 16 (qkv_append).
// QKV = 1 (with NORM = 1): the fused q/k/v projection. w holds [wq; wk; wv] (nq + 2 nkv rows),
// g holds two norm weights: q's at element 0, k's and v's at element g_kv; out holds
// segment-major blocks [q (M, nq) | k (M, nkv) | v (M, nkv)].
// Bindings: 0 params; 1 out f32 (rw); 2 x vec4; 3 w vec4; 4 g vec4 (norm weight; any tensor
// when NORM = 0). Not for large M (use matmul).

override ACCUM: u32 = 0u;
override NORM: u32 = 0u;
override SWIGLU: u32 = 0u;
override QKV: u32 = 0u;

override COLS: u32 = 16u;
const LANES: u32 = 256u / COLS;
const MR: u32 = 4u;

struct Params {
  o_off: u32,
  x_off: u32,
  w_off: u32,
  g_off: u32,
  m: u32,
  n: u32,
  k4: u32,
  eps: f32,
  nq: u32,
  nkv: u32,
  // the fused K/V append only (paged_qkv_append.wgsl)
  kp_off: u32,
  vp_off: u32,
  ps_off: u32,
  t_off: u32,
  hkv: u32,
  d: u32,
  n_slots: u32,
  // QKV: where k/v's norm weight starts in g (elements; q's starts at 0)
  g_kv: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> w: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> g: array<vec4<f32>>;

var<workgroup> red: array<f32, MR * COLS * LANES>;
var<workgroup> red_ss: array<f32, MR * COLS * LANES>;

// Index in out of (row m, column col): row-major (M, N), or QKV's segment-major blocks.
fn out_index(m: u32, col: u32) -> u32 {
  if (QKV == 0u) {
    return p.o_off + m * p.n + col;
  }
  if (col < p.nq) {
    return p.o_off + m * p.nq + col;
  }
  let j = col - p.nq;
  let s = j / p.nkv; // 0: k, 1: v
  return p.o_off + p.m * p.nq + s * p.m * p.nkv + m * p.nkv + (j - s * p.nkv);
}

// Element group k of row m of x' before the norm weight.
fn x_at(m: u32, k: u32) -> vec4<f32> {
  if (SWIGLU == 1u) {
    let base = p.x_off / 4u + m * 2u * p.k4 + k;
    let gate = x[base];
    return gate / (1.0 + exp(-gate)) * x[base + p.k4];
  }
  return x[p.x_off / 4u + m * p.k4 + k];
}

// Output values of rows m0 .. m0 + MR - 1 for weight row `col` of this thread's column slot c:
// lane partials of x' . w summed through workgroup memory (with the norm's rstd applied). Thread
// lid < MR * COLS gets the value of (row m0 + lid / COLS, column slot lid % COLS); others get 0.
// Skips the products when !col_ok. Call in uniform control flow (it has barriers).
fn block_sums(m0: u32, col: u32, col_ok: bool, lane: u32, c: u32, lid: u32) -> f32 {
  let w0 = p.w_off / 4u + col * p.k4;
  // QKV: k's and v's columns take the second norm weight row
  let g0 = p.g_off / 4u + select(0u, p.g_kv / 4u, QKV == 1u && col >= p.nq);
  var acc: array<f32, MR>;
  var ss: array<f32, MR>;
  for (var r = 0u; r < MR; r++) {
    acc[r] = 0.0;
    ss[r] = 0.0;
  }
  if (col_ok) {
    let rows = min(MR, p.m - m0);
    for (var k = lane; k < p.k4; k += LANES) {
      let wv = w[w0 + k];
      var gv = vec4<f32>(1.0);
      if (NORM == 1u) {
        gv = g[g0 + k];
      }
      for (var r = 0u; r < MR; r++) {
        if (r < rows) {
          let xv = x_at(m0 + r, k);
          if (NORM == 1u) {
            ss[r] += dot(xv, xv);
          }
          acc[r] += dot(wv, xv * gv);
        }
      }
    }
  }
  for (var r = 0u; r < MR; r++) {
    red[(r * COLS + c) * LANES + lane] = acc[r];
    red_ss[(r * COLS + c) * LANES + lane] = ss[r];
  }
  workgroupBarrier();
  for (var st = LANES / 2u; st > 0u; st >>= 1u) {
    if (lane < st) {
      for (var r = 0u; r < MR; r++) {
        let i = (r * COLS + c) * LANES + lane;
        red[i] += red[i + st];
        if (NORM == 1u) {
          red_ss[i] += red_ss[i + st];
        }
      }
    }
    workgroupBarrier();
  }
  var s = 0.0;
  if (lid < MR * COLS) {
    s = red[lid * LANES];
    let q = red_ss[lid * LANES];
    if (NORM == 1u) {
      s *= 1.0 / sqrt(q / f32(4u * p.k4) + p.eps);
    }
  }
  workgroupBarrier(); // red is reused by the next block
  return s;
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let col0 = wid.x * COLS;
  let m0 = wid.y * MR;
  if (col0 >= p.n || m0 >= p.m) {
    return;
  }
  let lane = lid % LANES;
  let c = lid / LANES;
  let s = block_sums(m0, col0 + c, col0 + c < p.n, lane, c, lid);
  let r = lid / COLS;
  let cc = lid % COLS;
  if (lid < MR * COLS && m0 + r < p.m && col0 + cc < p.n) {
    let o = out_index(m0 + r, col0 + cc);
    if (ACCUM == 1u) {
      out[o] = s + out[o];
    } else {
      out[o] = s;
    }
  }
}
