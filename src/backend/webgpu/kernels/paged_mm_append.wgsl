// Not a kernel by itself: the entry point `tile_append`, appended to paged_gemv.wgsl,
// paged_mm.wgsl, paged_rope.wgsl, paged_pool_store.wgsl and paged_qkv_append.wgsl (whose bindings
// 5-8 it uses: kpool, vpool, ps, tab), for a producer layer's fused q/k/v projection at 17..256
// rows (QKV = 1, NORM = 1): paged_mm's tiled sums, then q into `out` and rope(k) and v straight
// into the pool rows at each row's slot, as `qkv_append` does for a few rows (no K/V append
// dispatch). The host sets BN = d: every block is q columns or one K/V head's k or v, so each
// dim's rope partner (+ d / 2) is in the same block (stores: append_pairs).

@compute @workgroup_size(256)
fn tile_append(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let n0 = wid.x * BN;
  let m0 = wid.y * BM;
  if (n0 >= p.n || m0 >= p.m) {
    return;
  }
  tile_sums(m0, n0, lid);
  if (n0 < p.nq) {
    tile_store(m0, n0, lid);
    return;
  }
  let j = n0 - p.nq;
  let seg = j / p.nkv; // 0: k, 1: v (uniform per workgroup)
  let head = (j % p.nkv) / p.d;
  let half = p.d / 2u;
  // unit (row r, pair e): dims 2e, 2e + 1 and their partners + d / 2, whole pool words each
  let per_row = half / 2u;
  for (var u = lid; u < BM * per_row; u += 256u) {
    let r = u / per_row;
    let i = 2u * (u % per_row);
    let m = m0 + r;
    if (m >= p.m) {
      continue;
    }
    let lo = vec2f(tile_value(r, i), tile_value(r, i + 1u));
    let hi = vec2f(tile_value(r, i + half), tile_value(r, i + half + 1u));
    append_pairs(m, seg == 1u, head, i, lo, hi);
  }
}
