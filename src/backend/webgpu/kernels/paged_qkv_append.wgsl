// Not a kernel by itself: the entry point `qkv_append`, appended to paged_gemv.wgsl (with
// paged_rope.wgsl and paged_pool_store.wgsl), for a producer layer's fused q/k/v projection whose
// k and v go straight into the K/V pools: q (M, nq) = rmsnorm(x) * g0 @ wq^T into `out`, and
// rope(rmsnorm(x) * g1 @ wk^T) and rmsnorm(x) * g1 @ wv^T into pool rows at each row's slot (the
// K/V append without its own dispatch or the k/v round trip through memory). QKV = 1, NORM = 1.
// Workgroups (x, y): y = block of MR rows; x: nq / 16 for q (16 columns each), then per K/V head
// D / 16 for k and as many for v;
// a k/v workgroup takes 8 dims d0 .. d0 + 7 and their rope partners d0 + D/2 ..., so each thread
// pair writes whole 16-bit words of both halves. Needs nq % 16 == 0, D % 16 == 0 (host checks).
// Bindings 5-8: kpool u32 (rw); vpool u32 (rw); ps i32 = positions (M) then slots (M); tab f32.
// Slot -1 / out of range: no store.

@group(0) @binding(5) var<storage, read_write> kpool: array<u32>;
@group(0) @binding(6) var<storage, read_write> vpool: array<u32>;
@group(0) @binding(7) var<storage, read> ps: array<i32>;
@group(0) @binding(8) var<storage, read> tab: array<f32>;

override DT_POOL: u32 = 1u;

var<workgroup> res: array<f32, MR * COLS>;

// Row m's new k (is_v false: roped by the row's position) or v values of K/V head `head`, dims i,
// i + 1 (lo) and their partners i + d / 2, i + d / 2 + 1 (hi), into the pool row at the row's slot
// (whole 16-bit words; i even). Slot -1 / out of range: nothing. Shared with paged_mm_append.wgsl.
fn append_pairs(m: u32, is_v: bool, head: u32, i: u32, lo: vec2f, hi: vec2f) {
  let slot = ps[p.ps_off + p.m + m];
  if (slot < 0 || u32(slot) >= p.n_slots) {
    return;
  }
  let half = p.d / 2u;
  var a = lo;
  var b = hi;
  if (!is_v) {
    let pos = u32(ps[p.ps_off + m]);
    for (var t = 0u; t < 2u; t++) {
      let cs = rope_cs(p.t_off, pos, i + t, half);
      a[t] = lo[t] * cs.x - hi[t] * cs.y;
      b[t] = hi[t] * cs.x + lo[t] * cs.y;
    }
  }
  let dst = select(p.kp_off, p.vp_off, is_v) + u32(slot) * p.hkv * p.d + head * p.d + i;
  store2(is_v, dst, a.x, a.y);
  store2(is_v, dst + half, b.x, b.y);
}

@compute @workgroup_size(256)
fn qkv_append(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let wi = wid.x;
  let m0 = wid.y * MR; // this workgroup's rows m0 .. m0 + MR - 1
  let q_wgs = p.nq / COLS;
  let seg_wgs = p.nkv / COLS;
  if (wi >= q_wgs + 2u * seg_wgs || m0 >= p.m) {
    return;
  }
  let lane = lid % LANES;
  let c = lid / LANES;
  let half = p.d / 2u;
  const PAIRS: u32 = COLS / 2u;
  // seg 0: q columns; 1: k; 2: v (uniform per workgroup)
  var seg = 0u;
  var head = 0u;
  var d0 = 0u;
  var col = wi * COLS + c;
  if (wi >= q_wgs) {
    let j = wi - q_wgs;
    seg = 1u + j / seg_wgs;
    let per_head = p.d / COLS;
    head = (j % seg_wgs) / per_head;
    d0 = ((j % seg_wgs) % per_head) * PAIRS;
    let d = select(d0 + half + c - PAIRS, d0 + c, c < PAIRS);
    col = p.nq + (seg - 1u) * p.nkv + head * p.d + d;
  }
  let s = block_sums(m0, col, true, lane, c, lid);
  if (seg == 0u) {
    let r = lid / COLS;
    if (lid < MR * COLS && m0 + r < p.m) {
      out[p.o_off + (m0 + r) * p.nq + wi * COLS + lid % COLS] = s;
    }
    return;
  }
  if (lid < MR * COLS) {
    res[lid] = s;
  }
  workgroupBarrier();
  // thread (row r, pair e): dims d0 + 2e, d0 + 2e + 1 (columns 2e, 2e + 1) and their partners
  // + D/2 (columns PAIRS + 2e, PAIRS + 2e + 1)
  let r = lid / (PAIRS / 2u);
  let e = lid % (PAIRS / 2u);
  if (r < MR && m0 + r < p.m) {
    let m = m0 + r;
    let i = d0 + 2u * e;
    let lo = vec2f(res[r * COLS + 2u * e], res[r * COLS + 2u * e + 1u]);
    let hi = vec2f(res[r * COLS + PAIRS + 2u * e], res[r * COLS + PAIRS + 2u * e + 1u]);
    append_pairs(m, seg == 2u, head, i, lo, hi);
  }
}
