// pagedAttention, flash-decoding style: K/V are read through block tables, never copied.
// Entry `partials`: one workgroup per (query row, K/V head, key split): the workgroup keeps the GQ
//   query heads that share K/V head `kvh`, walks its split's keys in tiles of TK (K and V tiles
//   staged in workgroup memory, converted from DT_KV), and keeps an online softmax per head.
//   It writes a partial (m, l, acc[HD]) per (row, head, split) to `part`: (N, H, n_split, HD + 2).
//   Workgroup index w = (row * Hkv + kvh) * n_split + split, linear over a 2-D grid.
// paged_combine.wgsl then merges the splits (rescaling by exp(m_s - max m)) into out and lse.
// Bindings: 0 params; 1 part (rw); 2 q f32; 3 kPool u32; 4 vPool u32; 5 block tables i32;
//   6 seqLens i32; 7 queryStarts i32 (params and bindings other than 3, 4: paged_rows.wgsl).
// Constants: DT_KV (0 f32, 1 f16, 2 bf16 packed), HD head dim, GQ = H / Hkv, TK keys per tile.

override DT_KV: u32 = 0u;
override HD: u32 = 64u;
override GQ: u32 = 1u;
override TK: u32 = 16u;

const WG: u32 = 128u;
const ACC: u32 = (GQ * HD + WG - 1u) / WG;
const NEG: f32 = -1e30;

@group(0) @binding(3) var<storage, read> kpool: array<u32>;
@group(0) @binding(4) var<storage, read> vpool: array<u32>;

var<workgroup> kt: array<f32, TK * HD>;
var<workgroup> vt: array<f32, TK * HD>;
var<workgroup> sc: array<f32, GQ * TK>;
var<workgroup> m_run: array<f32, GQ>;
var<workgroup> l_run: array<f32, GQ>;
var<workgroup> alpha: array<f32, GQ>;
// x: sequence index b, y..z: the split's keys (paged_rows.wgsl row_info)

fn kv_elem(pool_is_v: bool, i: u32) -> f32 {
  if (pool_is_v) {
    return decode_elem(vpool[word_of(i, DT_KV)], i, DT_KV);
  }
  return decode_elem(kpool[word_of(i, DT_KV)], i, DT_KV);
}

@compute @workgroup_size(128)
fn partials(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let w = linear_wg(wid, nwg);
  if (w >= p.n * p.hkv * p.n_split) {
    return;
  }
  let sx = split_of(w, lid);
  if (lid < GQ) {
    m_run[lid] = NEG;
    l_run[lid] = 0.0;
  }
  let b = sx.seq;
  let k_end = sx.k1;
  var acc: array<f32, ACC>;
  for (var t0 = sx.k0; t0 < k_end; t0 += TK) {
    let cnt = min(TK, k_end - t0);
    workgroupBarrier();
    for (var e = lid; e < cnt * HD; e += WG) {
      let j = e / HD;
      let key = t0 + j;
      let blk = u32(tables[p.t_off + b * p.mb + key / p.bs]);
      let idx = ((blk * p.bs + key % p.bs) * p.hkv + sx.kvh) * HD + (e - j * HD);
      kt[e] = kv_elem(false, p.k_off + idx);
      vt[e] = kv_elem(true, p.v_off + idx);
    }
    workgroupBarrier();
    for (var e = lid; e < GQ * cnt; e += WG) {
      let g = e / cnt;
      let j = e - g * cnt;
      let qo = p.q_off + (sx.row * p.h + sx.kvh * GQ + g) * HD;
      var dot = 0.0;
      for (var d = 0u; d < HD; d++) {
        dot += q[qo + d] * kt[j * HD + d];
      }
      sc[g * TK + j] = dot * p.scale;
    }
    workgroupBarrier();
    if (lid < GQ) {
      var mt = NEG;
      for (var j = 0u; j < cnt; j++) {
        mt = max(mt, sc[lid * TK + j]);
      }
      let mo = m_run[lid];
      let mn = max(mo, mt);
      var s = 0.0;
      for (var j = 0u; j < cnt; j++) {
        let e = exp(sc[lid * TK + j] - mn);
        sc[lid * TK + j] = e;
        s += e;
      }
      let a = exp(mo - mn);
      alpha[lid] = a;
      l_run[lid] = l_run[lid] * a + s;
      m_run[lid] = mn;
    }
    workgroupBarrier();
    for (var r = 0u; r < ACC; r++) {
      let e = lid + r * WG;
      if (e < GQ * HD) {
        let g = e / HD;
        let d = e - g * HD;
        var x = acc[r] * alpha[g];
        for (var j = 0u; j < cnt; j++) {
          x += sc[g * TK + j] * vt[j * HD + d];
        }
        acc[r] = x;
      }
    }
  }
  workgroupBarrier();
  for (var r = 0u; r < ACC; r++) {
    let e = lid + r * WG;
    if (e < GQ * HD) {
      let g = e / HD;
      let base = partials_base(sx, sx.kvh * GQ + g, HD);
      part[base + 2u + (e - g * HD)] = acc[r];
    }
  }
  if (lid < GQ) {
    let base = partials_base(sx, sx.kvh * GQ + lid, HD);
    part[base] = m_run[lid];
    part[base + 1u] = l_run[lid];
  }
}
