// Not a kernel by itself: the entry point `tile`, appended to paged_gemv.wgsl (its params,
// bindings, out_index and switches ACCUM, NORM, SWIGLU, QKV), for the decode-path linear layer at
// 17..256 rows (a batched engine step), where paged_gemv's per-column re-reads of x cost too much:
// out (M, N) = x' (M, K) @ w' (N, K)^T (+ out). x' = x, or silu(gate) * up (SWIGLU); w' = w, or
// with NORM w * g (g per column segment with QKV) and each output row scaled by its rmsnorm rstd,
// the sum of squares taken from the same loads of x. No split-K pass, no separate norm dispatch.
// Workgroup (i, j): rows BM j .. + BM, columns BN i .. + BN. 256 threads = KS k-groups of GT; group
// s walks K chunks s, s + KS, ... of BK elements: x' and w' tiles in its own part of workgroup
// memory, k-major so thread (tm, tn) reads 4 rows and 4 columns as one vec4 each, the next chunk
// already loading into registers while this one is used; thread (tm, tn) keeps a 4 x 4 block of
// partial sums. At the end the KS groups' blocks (and the sums of squares) are added through
// workgroup memory, two outputs per thread.

override BN: u32 = 32u; // 16, 32 or 64
const BM: u32 = 16u;
const BK: u32 = 16u;
const GT: u32 = (BM / 4u) * (BN / 4u); // threads per k-group (a 4 x 4 block each)
const KS: u32 = 256u / GT; // k-groups
const KV: u32 = BK / 4u; // vec4 per row per chunk
const XL: u32 = BM * KV / GT; // x vec4 per thread per chunk
const WL: u32 = BN * KV / GT; // w vec4 per thread per chunk

// [group][k][row / 4] and [group][k][column / 4]; ws also holds the final partials (KS * BM * BN).
var<workgroup> xs: array<vec4<f32>, KS * BK * BM / 4u>;
var<workgroup> ws: array<vec4<f32>, KS * BK * BN / 4u>;
var<workgroup> sq: array<f32, KS * GT * XL>;
var<workgroup> rs: array<f32, BM>;

// The next chunk in flight: x (gate) and up for 2 vec4 of x', w and g for 4 vec4 of w'.
var<private> xr: array<vec4<f32>, XL>;
var<private> ur: array<vec4<f32>, XL>;
var<private> wr: array<vec4<f32>, WL>;
var<private> gr: array<vec4<f32>, WL>;
var<private> ss: array<f32, XL>; // NORM: sums of squares of rows (t + i GT) / KV

fn load_chunk(c: u32, m0: u32, n0: u32, t: u32) {
  for (var i = 0u; i < XL; i++) {
    let e = t + i * GT;
    let m = m0 + e / KV;
    let k = c * KV + e % KV;
    var a = vec4<f32>(0.0);
    var u = vec4<f32>(0.0);
    if (m < p.m && k < p.k4) {
      if (SWIGLU == 1u) {
        let base = p.x_off / 4u + m * 2u * p.k4 + k;
        a = x[base];
        u = x[base + p.k4];
      } else {
        a = x[p.x_off / 4u + m * p.k4 + k];
      }
    }
    xr[i] = a;
    ur[i] = u;
  }
  for (var i = 0u; i < WL; i++) {
    let e = t + i * GT;
    let col = n0 + e / KV;
    let k = c * KV + e % KV;
    var b = vec4<f32>(0.0);
    var gv = vec4<f32>(1.0);
    if (col < p.n && k < p.k4) {
      b = w[p.w_off / 4u + col * p.k4 + k];
      if (NORM == 1u) {
        gv = g[p.g_off / 4u + select(0u, p.g_kv / 4u, QKV == 1u && col >= p.nq) + k];
      }
    }
    wr[i] = b;
    gr[i] = gv;
  }
}

// The registers' chunk into group s's tiles (k-major), x' and w' formed on the way.
fn store_chunk(s: u32, t: u32) {
  for (var i = 0u; i < XL; i++) {
    let e = t + i * GT;
    let row = e / KV;
    var a = xr[i];
    if (SWIGLU == 1u) {
      a = a / (1.0 + exp(-a)) * ur[i];
    }
    if (NORM == 1u) {
      ss[i] += dot(a, a);
    }
    for (var c = 0u; c < 4u; c++) {
      let kk = (e % KV) * 4u + c;
      xs[(s * BK + kk) * (BM / 4u) + row / 4u][row % 4u] = a[c];
    }
  }
  for (var i = 0u; i < WL; i++) {
    let e = t + i * GT;
    let col = e / KV;
    let b = wr[i] * gr[i];
    for (var c = 0u; c < 4u; c++) {
      let kk = (e % KV) * 4u + c;
      ws[(s * BK + kk) * (BN / 4u) + col / 4u][col % 4u] = b[c];
    }
  }
}

// The block's sums: afterwards tile_value(row, col) is output (m0 + row, n0 + col) before the
// residual add. Every thread of the workgroup calls it (barriers).
fn tile_sums(m0: u32, n0: u32, lid: u32) {
  let s = lid / GT; // k-group
  let t = lid % GT;
  let tm = t / (BN / 4u); // rows 4 tm .. 4 tm + 3
  let tn = t % (BN / 4u); // columns 4 tn .. 4 tn + 3
  var acc: array<vec4<f32>, 4>; // acc[r]: row 4 tm + r, columns 4 tn .. + 3
  for (var r = 0u; r < 4u; r++) {
    acc[r] = vec4<f32>(0.0);
  }
  for (var i = 0u; i < XL; i++) {
    ss[i] = 0.0;
  }
  let chunks = (p.k4 + KV - 1u) / KV;
  let iters = (chunks + KS - 1u) / KS;
  load_chunk(s, m0, n0, t);
  for (var it = 0u; it < iters; it++) {
    store_chunk(s, t);
    if (it + 1u < iters) {
      load_chunk((it + 1u) * KS + s, m0, n0, t);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      let a = xs[(s * BK + kk) * (BM / 4u) + tm];
      let b = ws[(s * BK + kk) * (BN / 4u) + tn];
      for (var r = 0u; r < 4u; r++) {
        acc[r] += a[r] * b;
      }
    }
    workgroupBarrier();
  }
  // the groups' partial blocks (ws reused) and sums of squares, then two outputs per thread
  for (var r = 0u; r < 4u; r++) {
    ws[(s * BM + 4u * tm + r) * (BN / 4u) + tn] = acc[r];
  }
  for (var i = 0u; i < XL; i++) {
    sq[(s * XL + i) * GT + t] = ss[i];
  }
  workgroupBarrier();
  if (NORM == 1u && lid < BM) {
    // row lid's squares: load slot lid / (GT / KV), the KV threads KV (lid % (GT / KV)) .. of
    // every group
    let rpl = GT / KV; // rows per load slot
    var q = 0.0;
    for (var g2 = 0u; g2 < KS; g2++) {
      for (var j = 0u; j < KV; j++) {
        q += sq[(g2 * XL + lid / rpl) * GT + (lid % rpl) * KV + j];
      }
    }
    rs[lid] = 1.0 / sqrt(q / f32(4u * p.k4) + p.eps);
  }
  workgroupBarrier();
}

// Output (row, col) of the block after tile_sums: the k-groups' partial sums, the norm's rstd.
fn tile_value(row: u32, col: u32) -> f32 {
  var v = 0.0;
  for (var g2 = 0u; g2 < KS; g2++) {
    v += ws[(g2 * BM + row) * (BN / 4u) + col / 4u][col % 4u];
  }
  if (NORM == 1u) {
    v *= rs[row];
  }
  return v;
}

// The block's outputs into `out` (out_index: row-major, or QKV's segment blocks), two or four per
// thread.
fn tile_store(m0: u32, n0: u32, lid: u32) {
  for (var h = 0u; h < BM * BN / 256u; h++) {
    let o = lid + h * 256u; // output (row o / BN, column o % BN) of the tile
    let row = o / BN;
    let col = o % BN;
    let v = tile_value(row, col);
    if (m0 + row < p.m && n0 + col < p.n) {
      let i = out_index(m0 + row, n0 + col);
      if (ACCUM == 1u) {
        out[i] = v + out[i];
      } else {
        out[i] = v;
      }
    }
  }
}

@compute @workgroup_size(256)
fn tile(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  if (n0 >= p.n || m0 >= p.m) {
    return;
  }
  tile_sums(m0, n0, lid);
  tile_store(m0, n0, lid);
}
