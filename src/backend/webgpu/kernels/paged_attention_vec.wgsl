// pagedAttention partials, streaming variant (flash-decoding): K/V read straight from the pools with
// wide loads, never staged. One workgroup per (query row, K/V head, key split), as in
// paged_attention.wgsl, writing the same partials (m, l, acc[HD]) for paged_combine.wgsl.
// Per tile of TK = 128 keys: (A) thread t scores key t for all GQ query heads of the group (K row
//   read once as HD / KW vec4<u32> loads, the pre-scaled queries from workgroup memory);
//   (B1) thread (key group kg, lane) keeps the online softmax of head `lane` (+ LANES...) over the
//   group's KPG keys, writing the weights key-major (pt); with fewer heads than lanes, SPL lanes
//   share a head's keys (each its own sum; -10% partials time at batch 128 on an H100);
//   (B2) thread (kg, lane) accumulates 4 output dims of every head over its group's keys (V read
//   as 4 contiguous elements per lane, a row shared by LANES lanes; VB rows' loads issued before
//   their use, the first VB already before (B1), so their latency hides behind the softmax; a
//   key's weights as vec4s).
//   3 barriers per tile. The KG key groups are merged once at the end (rescaled to a common max;
//   group by group through qv, or with TREE = 1 pairwise through pt).
// Needs: HD % KW == 0, 128 % (HD / 4) == 0, both pools' offsets multiples of KW (host checks).
// ROPE = 1 (the engine step): q arrives before rope; each row's position (seqLens[b] - qLen_b + i)
//   rotates it on load (paged_query.wgsl and paged_rope.wgsl appended, table at binding 8), saving
//   the rope dispatch.
// Bindings: 0 params; 1 part (rw); 2 q f32; 3 kPool vec4<u32>; 4 vPool u32; 5 tables; 6 seqLens;
//   7 queryStarts; 8 tab f32 (rope table; any tensor when ROPE = 0).
// Constants: DT_KV (0 f32, 1 f16, 2 bf16), HD, GQ, KW (elements per vec4<u32>), ROPE, VB, TREE.

override DT_KV: u32 = 1u;
override HD: u32 = 64u;
override GQ: u32 = 1u;
override KW: u32 = 8u;
override ROPE: u32 = 0u;
// 1: the final merge of the key groups pairwise in log2(KG) rounds (faster where a split is one tile:
// 14.7 vs 17.6 us per batch-1 layer on an H100); 0: group by group (faster over many tiles: 95 vs
// 105 us at batch 128, context 4096, where the tree's code slows the tile loop).
override TREE: u32 = 0u;

const WG: u32 = 128u;
const TK: u32 = 128u;
const LANES: u32 = HD / 4u;
const KG: u32 = WG / LANES;
const KPG: u32 = TK / KG;
override VB: u32 = 16u; // V rows loaded together in (B2), at most KPG
const NEG: f32 = -1e30;

@group(0) @binding(3) var<storage, read> kpool: array<vec4<u32>>;
@group(0) @binding(4) var<storage, read> vpool: array<u32>;
@group(0) @binding(8) var<storage, read> tab: array<f32>;

// The group's queries times the scale; after the last tile (TREE = 0), the merge buffer of the output.
var<workgroup> qv: array<vec4<f32>, GQ * HD / 4u>;
// Scores of head g at sc[g * SCS + key]: the padded stride puts (B1)'s heads on
// distinct memory banks (a stride of TK put all 8 on one: -10% partials time measured on an H100).
const SCS: u32 = TK + 4u;
var<workgroup> sc: array<f32, GQ * SCS>;
// (B1)'s weights key-major, 4 heads per vec4: (B2) reads key j's weights as GQ4 vectors, not GQ
// scalars (-7% partials time on an H100)
const GQ4: u32 = (GQ + 3u) / 4u;
var<workgroup> pt: array<vec4<f32>, TK * GQ4>;
// Key groups whose (GQ, HD) sums pt holds at once (the final merge): 128 / HD, at least 1.
const CAPG: u32 = max(1u, TK * GQ4 / (GQ * LANES));
var<workgroup> rows: array<u32, TK>;
// (B1)'s lanes: with fewer heads than lanes, SPL lanes share a head, each exponentiating KPP of the
// group's keys (all of them still take the group's max) and keeping its own running max m and sum
// l; the final merge adds the parts' sums. m_g / l_g hold (key group, part, head) at kg * LS + u.
const SPL: u32 = select(1u, LANES / GQ, GQ < LANES && LANES % GQ == 0u);
const LS: u32 = SPL * GQ;
const KPP: u32 = KPG / SPL;
var<workgroup> m_g: array<f32, KG * LS>;
var<workgroup> l_g: array<f32, KG * LS>;
var<workgroup> a_g: array<f32, KG * GQ>;

// Elements 4c..4c+3 of a packed vec4<u32> (c = 0, 1; f32 pools have only c = 0).
fn unpack4(w: vec4<u32>, c: u32) -> vec4<f32> {
  if (DT_KV == 0u) {
    return bitcast<vec4<f32>>(w);
  }
  let a = select(w.x, w.z, c == 1u);
  let b = select(w.y, w.w, c == 1u);
  if (DT_KV == 1u) {
    return vec4<f32>(unpack2x16float(a), unpack2x16float(b));
  }
  return vec4<f32>(
    bitcast<f32>(a << 16u),
    bitcast<f32>(a & 0xffff0000u),
    bitcast<f32>(b << 16u),
    bitcast<f32>(b & 0xffff0000u),
  );
}

// The words holding four V elements from element index i (f32: 4 words; f16/bf16: 2, in x and y).
fn vraw(i: u32) -> vec4<u32> {
  if (DT_KV == 0u) {
    return vec4<u32>(vpool[i], vpool[i + 1u], vpool[i + 2u], vpool[i + 3u]);
  }
  return vec4<u32>(vpool[i >> 1u], vpool[(i >> 1u) + 1u], 0u, 0u);
}

// Four V elements starting at element index i (i a multiple of 4).
fn v4(i: u32) -> vec4<f32> {
  return unpack4(vraw(i), 0u);
}

@compute @workgroup_size(128)
fn partials(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let w = linear_wg(wid, nwg);
  if (w >= p.n * p.hkv * p.n_split) {
    return;
  }
  let sx = split_of(w, lid);
  let lane = lid % LANES;
  let kg = lid / LANES;
  for (var u = lane; u < LS; u += LANES) {
    m_g[kg * LS + u] = NEG;
    l_g[kg * LS + u] = 0.0;
  }
  let b = sx.seq;
  let k_end = sx.k1;
  let stride = HD + 2u;
  let p_base = partials_base(sx, sx.kvh * GQ, HD);
  if (sx.k0 >= k_end) {
    // a split past the row's keys (a short row, or 1-key granularity): without the queries' load
    // or the merge
    write_empty_partials(p_base, GQ, HD, lid, WG);
    return;
  }
  let q_base = p.q_off + (sx.row * p.h + sx.kvh * GQ) * HD;
  for (var e = lid; e < GQ * HD / 4u; e += WG) {
    let head = q_base + (e / (HD / 4u)) * HD;
    let d = (4u * e) % HD;
    let qx = vec4<f32>(
      query_elem(head, d, sx.pos),
      query_elem(head, d + 1u, sx.pos),
      query_elem(head, d + 2u, sx.pos),
      query_elem(head, d + 3u, sx.pos),
    );
    qv[e] = qx * p.scale;
  }
  workgroupBarrier();
  let t_base = p.t_off + b * p.mb;
  var acc: array<vec4<f32>, GQ>;
  for (var g = 0u; g < GQ; g++) {
    acc[g] = vec4<f32>(0.0);
  }
  for (var t0 = sx.k0; t0 < k_end; t0 += TK) {
    // (A) scores of key t0 + lid for the GQ heads
    let key = t0 + lid;
    var s: array<f32, GQ>;
    for (var g = 0u; g < GQ; g++) {
      s[g] = NEG;
    }
    var r = 0u;
    if (key < k_end) {
      let blk = u32(tables[t_base + key / p.bs]);
      r = (blk * p.bs + key % p.bs) * p.hkv + sx.kvh;
      let kb = (p.k_off + r * HD) / KW;
      for (var g = 0u; g < GQ; g++) {
        s[g] = 0.0;
      }
      for (var i = 0u; i < HD / KW; i++) {
        let kw = kpool[kb + i];
        for (var c = 0u; c < KW / 4u; c++) {
          let kx = unpack4(kw, c);
          let qi = (i * KW) / 4u + c;
          for (var g = 0u; g < GQ; g++) {
            s[g] += dot(kx, qv[g * (HD / 4u) + qi]);
          }
        }
      }
    }
    workgroupBarrier(); // the previous tile's (B2) is done with sc and rows
    for (var g = 0u; g < GQ; g++) {
      sc[g * SCS + lid] = s[g];
    }
    rows[lid] = r;
    workgroupBarrier();
    // (B1) online softmax of (key group kg, head g) over the group's keys of this tile
    let cnt = min(TK, k_end - t0);
    let j0 = kg * KPG;
    let j1 = min(j0 + KPG, cnt);
    // the group's first VB V rows (raw words), in flight during the softmax (-3% partials time
    // on an H100)
    var vpre: array<vec4<u32>, VB>;
    for (var u = 0u; u < VB; u++) {
      let j = min(j0 + u, cnt - 1u); // a key of this tile (past its end: weight 0, see (B2))
      vpre[u] = vraw(p.v_off + rows[j] * HD + 4u * lane);
    }
    // (constant trip counts: the loops unroll; keys past the tile's count score NEG in (A), so
    // they leave the max alone, and their weights are set to 0)
    for (var u = lane; u < LS; u += LANES) {
      let g = u % GQ;
      let j0p = j0 + (u / GQ) * KPP; // this part's keys
      var mt = NEG;
      for (var jj = 0u; jj < KPG; jj++) {
        mt = max(mt, sc[g * SCS + j0 + jj]);
      }
      let mo = m_g[kg * LS + u];
      let mn = max(mo, mt);
      var sum = 0.0;
      for (var jj = 0u; jj < KPP; jj++) {
        let j = j0p + jj;
        let e = select(0.0, exp(sc[g * SCS + j] - mn), j < j1);
        pt[j * GQ4 + g / 4u][g % 4u] = e;
        sum += e;
      }
      let a = exp(mo - mn);
      if (u < GQ) {
        a_g[kg * GQ + g] = a;
      }
      l_g[kg * LS + u] = l_g[kg * LS + u] * a + sum;
      m_g[kg * LS + u] = mn;
    }
    workgroupBarrier();
    // (B2) acc[g] (dims 4 lane .. 4 lane + 3) over the group's keys
    for (var g = 0u; g < GQ; g++) {
      acc[g] *= a_g[kg * GQ + g];
    }
    // V rows VB at a time: the loads of a batch are issued before any is used (memory-level
    // parallelism; a plain loop waits one memory latency per key). All KPG keys of the group, a
    // constant count: (B1) gave the keys past the tile's end weight 0 and their loads read the
    // tile's last key instead (finite values; an unused slot may hold anything).
    for (var jb = 0u; jb < KPG; jb += VB) {
      var vx: array<vec4<f32>, VB>;
      if (jb == 0u) {
        for (var u = 0u; u < VB; u++) {
          vx[u] = unpack4(vpre[u], 0u);
        }
      } else {
        for (var u = 0u; u < VB; u++) {
          let j = min(j0 + jb + u, cnt - 1u);
          vx[u] = v4(p.v_off + rows[j] * HD + 4u * lane);
        }
      }
      for (var u = 0u; u < VB; u++) {
        if (jb + u < KPG) {
          for (var c = 0u; c < GQ4; c++) {
            let w4 = pt[(j0 + jb + u) * GQ4 + c];
            for (var q4 = 0u; q4 < 4u; q4++) {
              if (4u * c + q4 < GQ) {
                acc[4u * c + q4] += w4[q4] * vx[u];
              }
            }
          }
        }
      }
    }
  }
  workgroupBarrier();
  // Merge the key groups. First each head's common max, the groups' weights exp(m_kg - max) (into
  // a_g) and the sum l.
  if (lid < GQ) {
    var mx = NEG;
    for (var k = 0u; k < KG; k++) {
      mx = max(mx, m_g[k * LS + lid]);
    }
    var l = 0.0;
    for (var k = 0u; k < KG; k++) {
      let a = exp(m_g[k * LS + lid] - mx);
      a_g[k * GQ + lid] = a;
      var lk = 0.0;
      for (var h = 0u; h < SPL; h++) {
        lk += l_g[k * LS + h * GQ + lid];
      }
      l += lk * a;
    }
    let o = p_base + lid * p.n_split * stride;
    part[o] = mx;
    part[o + 1u] = l;
  }
  if (TREE == 1u) {
    // the groups' rescaled sums added pairwise through pt, CAPG groups at a time, in log2(KG)
    // rounds with every group busy (a group-by-group merge cost ~5 us per workgroup on an H100, a
    // third of a one-tile workgroup's time)
    workgroupBarrier();
    for (var g = 0u; g < GQ; g++) {
      acc[g] *= a_g[kg * GQ + g];
    }
    for (var h = KG / 2u; h > 0u; h >>= 1u) {
      for (var c0 = 0u; c0 < h; c0 += CAPG) {
        let n = min(CAPG, h - c0);
        // groups h + c0 .. h + c0 + n - 1 hand their sums to groups c0 .. c0 + n - 1
        if (kg >= h + c0 && kg < h + c0 + n) {
          for (var g = 0u; g < GQ; g++) {
            pt[((kg - h - c0) * GQ + g) * LANES + lane] = acc[g];
          }
        }
        workgroupBarrier();
        if (kg >= c0 && kg < c0 + n) {
          for (var g = 0u; g < GQ; g++) {
            acc[g] += pt[((kg - c0) * GQ + g) * LANES + lane];
          }
        }
        workgroupBarrier();
      }
    }
    if (kg == 0u) {
      for (var g = 0u; g < GQ; g++) {
        let o = p_base + g * p.n_split * stride + 2u + 4u * lane;
        for (var c = 0u; c < 4u; c++) {
          part[o + c] = acc[g][c];
        }
      }
    }
  } else {
    // Merge the key groups into qv, rescaled to the common max by the weights just put in a_g,
    // one group at a time.
    workgroupBarrier();
    for (var rnd = 0u; rnd < KG; rnd++) {
      if (kg == rnd) {
        for (var g = 0u; g < GQ; g++) {
          let x = acc[g] * a_g[kg * GQ + g];
          let o = g * (HD / 4u) + lane;
          if (rnd == 0u) {
            qv[o] = x;
          } else {
            qv[o] += x;
          }
        }
      }
      workgroupBarrier();
    }
    for (var e = lid; e < GQ * HD; e += WG) {
      let g = e / HD;
      let d = e - g * HD;
      part[p_base + g * p.n_split * stride + 2u + d] = qv[e / 4u][e % 4u];
    }
  }
}
