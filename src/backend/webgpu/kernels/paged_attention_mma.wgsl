// pagedAttention partials on tensor cores (chromium_experimental_subgroup_matrix, f16 x f16 -> f32
// at M 16 x N 8 x K 16 and 16 x 16 x 16): the same split of work and the same partials (m, l,
// acc[HD]) as paged_attention_vec.wgsl, for f16 pools whose pages hold a multiple of 16 slots. One
// workgroup (8 subgroups of 32) per (query row, K/V head, key split); the GQ <= 8 query heads of
// the K/V head are the 8 columns of the score products, so one K/V read serves them all.
// Per tile of TK = 128 keys (8 blocks of 16 consecutive slots of one page), 4 barriers:
//   (A) subgroup s: S^T of key block s (16 keys x 8 heads) = K (16 x HD, straight from the pool,
//       row stride hkv * HD) @ Q^T (HD x 8, f16, pre-scaled, workgroup memory), HD / 16 products,
//       stored transposed (S: head-major rows) for (B);
//   (B) subgroup g: the online softmax of head g over the tile (keys lane + 32 i; subgroupMax /
//       subgroupAdd), P (heads x keys, 8 zero rows below) in f16, the head's rescale factor;
//   (C) subgroup s: O (16 heads x 16 dims) of dims 16 (s % DB).. = P @ V (V rows row-major from the
//       pool) over the tile's key blocks s / DB, s / DB + KP, ...; a key block that runs past the
//       row's keys reads its V rows from a staged copy with the missing rows zero (P is 0 there,
//       and 0 x a stale NaN would not be);
//   (D) each thread's (head, dim) sums: acc = acc * alpha + the KP parts of O.
// Subgroup matrices are opaque, so the running sums live in registers and each tile's product is
// handed over through workgroup memory. Row strides are padded so that the rows a subgroup
// touches at once fall on different banks.
// Measured on an H100 (bench/gpu/NOTES.md stop 14), GPU time per decode step against the
// streaming kernel: -6% at batch 1, -3.5..-4% at batch 16, -2..-5.5% at 32-64 rows of context
// 512; +2.5..+6.5% at 32-64 rows of context 4096, +1.5% / +17% at 128 rows of 512 / 4096.
// Prepended by ops/paged-mma.ts: the `enable` lines (f16, subgroups, subgroup matrices, no
// uniformity analysis: WGSL cannot see that lid / 32 is uniform in a subgroup). Appended:
// paged_rope.wgsl, paged_rows.wgsl (Params, bindings 0-2 and 5-7, row_info, split_of,
// partials_base, write_empty_partials), paged_query.wgsl (query_elem). Bindings 3 kPool,
// 4 vPool (f16), 8 the rope table (any tensor when ROPE = 0). Needs subgroups of 32 and
// HD in {16, 32, 64, 128}.

override HD: u32 = 64u;
override GQ: u32 = 8u;
override ROPE: u32 = 0u;

const WG: u32 = 256u;
const NSG: u32 = 8u;
const TK: u32 = 128u;
const NH: u32 = 8u;
const NEG: f32 = -1e30;
const SCS: u32 = TK + 16u; // sc row stride (f32): the two heads of a subgroup pair on other banks
const TKP: u32 = TK + 8u; // pt row stride (f16)
const DB: u32 = HD / 16u; // 16-dim blocks
const KP: u32 = NSG / DB; // subgroups per dim block (key parts)
const OTS: u32 = HD + 4u; // ot row stride (f32)
const VTS: u32 = HD + 8u; // vt row stride (f16)

@group(0) @binding(3) var<storage, read> kpool: array<f16>;
@group(0) @binding(4) var<storage, read> vpool: array<f16>;
@group(0) @binding(8) var<storage, read> tab: array<f32>;

var<workgroup> qt: array<f16, HD * NH>; // Q^T (dim, head) at d * NH + g, scaled
var<workgroup> sc: array<f32, NH * SCS>; // S (head, key) at g * SCS + j
var<workgroup> pt: array<f16, 16u * TKP>; // P (head, key) at g * TKP + j, rows NH.. zero
var<workgroup> ot: array<f32, KP * 16u * OTS>; // O per key part (part, head, dim)
var<workgroup> vt: array<f16, 16u * VTS>; // the tail key block's V rows, missing ones zero
var<workgroup> rowbase: array<u32, TK / 16u>;
var<workgroup> alpha: array<f32, NH>;

@compute @workgroup_size(256)
fn partials(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let w = linear_wg(wid, nwg);
  if (w >= p.n * p.hkv * p.n_split) {
    return;
  }
  let sx = split_of(w, lid);
  let k_end = sx.k1;
  let stride = HD + 2u;
  let p_base = partials_base(sx, sx.kvh * GQ, HD);
  if (sx.k0 >= k_end) {
    write_empty_partials(p_base, GQ, HD, lid, WG);
    return;
  }
  let q_base = p.q_off + (sx.row * p.h + sx.kvh * GQ) * HD;
  for (var e = lid; e < HD * NH; e += WG) {
    let d = e / NH;
    let g = e % NH;
    var x = 0.0;
    if (g < GQ) {
      x = query_elem(q_base + g * HD, d, sx.pos);
    }
    qt[e] = f16(x * p.scale);
  }
  for (var e = NH * TKP + lid; e < 16u * TKP; e += WG) {
    pt[e] = f16(0.0);
  }
  let sg = lid / 32u;
  let lane = lid % 32u;
  let db = sg % DB; // this subgroup's 16 dims in (C)
  let kpart = sg / DB; // ... and its key blocks kpart, kpart + KP, ...
  let rs = p.hkv * HD;
  let t_base = p.t_off + sx.seq * p.mb;
  var m_run = NEG; // of head sg (every lane of the subgroup holds it)
  var l_run = 0.0;
  var acc: array<f32, 4>; // (head, dim) sums at e = lid + i * WG < NH * HD
  for (var i = 0u; i < 4u; i++) {
    acc[i] = 0.0;
  }
  for (var t0 = sx.k0; t0 < k_end; t0 += TK) {
    let cnt = min(TK, k_end - t0);
    let nkb = (cnt + 15u) / 16u;
    if (lid < nkb) {
      let key = t0 + 16u * lid;
      let blk = u32(tables[t_base + key / p.bs]);
      rowbase[lid] = (blk * p.bs + key % p.bs) * p.hkv + sx.kvh;
    }
    workgroupBarrier();
    // (A) S of key block sg
    if (sg < nkb) {
      let kbase = p.k_off + rowbase[sg] * HD;
      var s = subgroup_matrix_result<f32, 8, 16>();
      for (var d0 = 0u; d0 < HD; d0 += 16u) {
        let kl = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&kpool, kbase + d0, rs);
        let qr = subgroupMatrixLoad<subgroup_matrix_right<f16, 8, 16>, row_major>(&qt, d0 * NH, NH);
        s = subgroupMatrixMultiplyAccumulate(kl, qr, s);
      }
      // (key r, head c) at c * SCS + 16 sg + r
      subgroupMatrixStore<col_major>(&sc, sg * 16u, s, SCS);
    }
    let tail = cnt % 16u;
    if (tail != 0u) {
      let vbase = p.v_off + rowbase[nkb - 1u] * HD;
      for (var e = lid; e < 16u * HD; e += WG) {
        let r = e / HD;
        let d = e % HD;
        var x = f16(0.0);
        if (r < tail) {
          x = vpool[vbase + r * rs + d];
        }
        vt[r * VTS + d] = x;
      }
    }
    workgroupBarrier();
    // (B) online softmax of head sg over the tile, keys lane + 32 i
    var mt = NEG;
    for (var i = 0u; i < 4u; i++) {
      let j = lane + 32u * i;
      if (j < cnt) {
        mt = max(mt, sc[sg * SCS + j]);
      }
    }
    mt = subgroupMax(mt);
    let mn = max(m_run, mt);
    var sum = 0.0;
    for (var i = 0u; i < 4u; i++) {
      let j = lane + 32u * i;
      var e = f16(0.0);
      if (j < cnt) {
        e = f16(exp(sc[sg * SCS + j] - mn));
      }
      pt[sg * TKP + j] = e;
      sum += f32(e);
    }
    sum = subgroupAdd(sum);
    let a = exp(m_run - mn);
    l_run = l_run * a + sum;
    m_run = mn;
    if (lane == 0u) {
      alpha[sg] = a;
    }
    workgroupBarrier();
    // (C) O (16 heads x 16 dims) of dims 16 db.. over key blocks kpart, kpart + KP, ...
    {
      let d0 = 16u * db;
      var o = subgroup_matrix_result<f32, 16, 16>();
      for (var u = 0u; u < TK / 16u / KP; u++) {
        let kb = kpart + u * KP;
        if (kb < nkb) {
          let pl = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pt, kb * 16u, TKP);
          if (tail != 0u && kb + 1u == nkb) {
            let vr = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&vt, d0, VTS);
            o = subgroupMatrixMultiplyAccumulate(pl, vr, o);
          } else {
            let vbase = p.v_off + rowbase[kb] * HD;
            let vr = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&vpool, vbase + d0, rs);
            o = subgroupMatrixMultiplyAccumulate(pl, vr, o);
          }
        }
      }
      subgroupMatrixStore<row_major>(&ot, kpart * 16u * OTS + d0, o, OTS);
    }
    workgroupBarrier();
    // (D) the running sums
    for (var i = 0u; i < 4u; i++) {
      let e = lid + i * WG;
      if (e < NH * HD) {
        let g = e / HD;
        let d = e % HD;
        var x = 0.0;
        for (var k = 0u; k < KP; k++) {
          x += ot[(k * 16u + g) * OTS + d];
        }
        acc[i] = acc[i] * alpha[g] + x;
      }
    }
  }
  if (lane == 0u && sg < GQ) {
    let o = p_base + sg * p.n_split * stride;
    part[o] = m_run;
    part[o + 1u] = l_run;
  }
  for (var i = 0u; i < 4u; i++) {
    let e = lid + i * WG;
    if (e < NH * HD) {
      let g = e / HD;
      if (g < GQ) {
        part[p_base + g * p.n_split * stride + 2u + e % HD] = acc[i];
      }
    }
  }
}
