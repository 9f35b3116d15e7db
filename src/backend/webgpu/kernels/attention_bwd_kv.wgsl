// Attention backward, dk/dv: dk, dv (B, S, Hkv, D) f32, overwritten or accumulated (CLA consumers
// add into their producer's gradients). One workgroup per (key tile, K/V head kvh x head split,
// batch b), one thread per key s; the (t, h) query rows of the HPW = GQ / SPLIT heads of this split
// are staged TQ at a time (q pre-scaled, dO, lse, delta) in workgroup memory, starting at the first
// row that sees the tile. With SPLIT > 1 (GQA/MQA: more workgroups) `dk`/`dv` are partials
// (B, S, Hkv * SPLIT, D) that attention_kv_reduce.wgsl sums into the real gradients.
//   p = exp(scale q.k - lse), dv += p dO, ds = p (dO.v - delta), dk += scale ds q.
// Bindings (8 storage, the llvmpipe limit): dk, dv, q, k, v, dO, lse, delta.
// DSPLIT = 2 (needs subgroups; ops/attention.ts prepends `enable subgroups;`): each key is held by
// two adjacent lanes, each with half of the head dim (HDL vec4 of k, v, dk, dv: 128 floats at D 64
// instead of 256), the two halves of each dot product added with one subgroupShuffleXor. The loop
// over rows then runs in every lane (shuffles need all lanes), with masked rows contributing 0.

override DT_KV: u32 = 0u;
override HD4: u32 = 16u;
override GQ: u32 = 1u;
override BKV: u32 = 64u;
override TQ: u32 = 32u;
override SPLIT: u32 = 1u;
override DSPLIT: u32 = 1u;

const HPW: u32 = GQ / SPLIT;
const HDL: u32 = HD4 / DSPLIT;
const NTH: u32 = BKV * DSPLIT;

struct Params {
  dk_off: u32,
  dv_off: u32,
  q_off: u32,
  k_off: u32,
  v_off: u32,
  do_off: u32,
  lse_off: u32,
  delta_off: u32,
  T: u32,
  S: u32,
  H: u32,
  Hkv: u32,
  D: u32,
  scale: f32,
  causal: u32,
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dk: array<f32>;
@group(0) @binding(2) var<storage, read_write> dv: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> kb: array<u32>;
@group(0) @binding(5) var<storage, read> vb: array<u32>;
@group(0) @binding(6) var<storage, read> dO: array<f32>;
@group(0) @binding(7) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<storage, read> delta: array<f32>;

var<workgroup> qS: array<vec4<f32>, TQ * HD4>;
var<workgroup> dS: array<vec4<f32>, TQ * HD4>;
var<workgroup> lS: array<f32, TQ>;
var<workgroup> eS: array<f32, TQ>;

// Stages query rows r0..r0+TQ-1 (row r: t = r / HPW, h = h0 + r % HPW).
fn stageRows(b: u32, h0: u32, r0: u32, lid: u32) {
  let rows = p.T * HPW;
  let D = p.D;
  for (var e = lid; e < TQ * HD4; e += NTH) {
    let r = r0 + e / HD4;
    let d0 = (e % HD4) * 4u;
    var qx = vec4<f32>(0.0);
    var dx = vec4<f32>(0.0);
    if (r < rows) {
      let t = r / HPW;
      let h = h0 + r % HPW;
      let base = ((b * p.T + t) * p.H + h) * D + d0;
      for (var c = 0u; c < 4u; c++) {
        if (d0 + c < D) {
          qx[c] = q[p.q_off + base + c];
          dx[c] = dO[p.do_off + base + c];
        }
      }
    }
    qS[e] = qx * p.scale;
    dS[e] = dx;
  }
  for (var e = lid; e < TQ; e += NTH) {
    let r = r0 + e;
    if (r < rows) {
      let t = r / HPW;
      let h = h0 + r % HPW;
      lS[e] = lse[p.lse_off + (b * p.H + h) * p.T + t];
      eS[e] = delta[p.delta_off + (b * p.H + h) * p.T + t];
    }
  }
}

// This lane's HDL vec4 of a K or V row, from vec4 c0 on.
fn loadKV(which: u32, off: u32, c0: u32) -> array<vec4<f32>, HDL> {
  var x: array<vec4<f32>, HDL>;
  for (var c = 0u; c < HDL; c++) {
    for (var i = 0u; i < 4u; i++) {
      let d = (c0 + c) * 4u + i;
      if (d < p.D) {
        if (which == 0u) {
          x[c][i] = decode_elem(kb[word_of(p.k_off + off + d, DT_KV)], p.k_off + off + d, DT_KV);
        } else {
          x[c][i] = decode_elem(vb[word_of(p.v_off + off + d, DT_KV)], p.v_off + off + d, DT_KV);
        }
      }
    }
  }
  return x;
}

// The sum over the two lanes holding one key (DSPLIT = 2), else x itself.
fn pairSum(x: vec4<f32>) -> vec4<f32> {
  return x; //@PAIR_SUM (ops/attention.ts pairedKernel puts the shuffle here)
}

@compute @workgroup_size(NTH, 1, 1)
fn main(@builtin(local_invocation_id) lidv: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let lid = lidv.x;
  let b = wid.z;
  let kvh = wid.y / SPLIT;
  let h0 = kvh * GQ + (wid.y % SPLIT) * HPW;
  let T = p.T;
  let S = p.S;
  let D = p.D;
  let rows = T * HPW;
  let s0 = wid.x * BKV;
  let s = s0 + lid / DSPLIT;
  let c0 = (lid % DSPLIT) * HDL;
  let valid = s < S;
  let base = ((b * S + min(s, S - 1u)) * p.Hkv + kvh) * D;
  let kr = loadKV(0u, base, c0);
  let vr = loadKV(1u, base, c0);
  var gk: array<vec4<f32>, HDL>;
  var gv: array<vec4<f32>, HDL>;
  for (var c = 0u; c < HDL; c++) {
    gk[c] = vec4<f32>(0.0);
    gv[c] = vec4<f32>(0.0);
  }
  // Query t sees key s iff s <= t + S - T: the first row that sees this tile.
  var rStart = 0u;
  if (p.causal != 0u) {
    rStart = u32(max(i32(s0) + i32(T) - i32(S), 0)) * HPW;
  }
  for (var r0 = rStart; r0 < rows; r0 += TQ) {
    workgroupBarrier();
    stageRows(b, h0, r0, lid);
    workgroupBarrier();
    if (valid || DSPLIT > 1u) {
      let n = min(TQ, rows - r0);
      for (var i = 0u; i < n; i++) {
        let t = (r0 + i) / HPW;
        let masked = !valid || (p.causal != 0u && i32(s) > i32(t) + i32(S) - i32(T));
        if (DSPLIT == 1u && masked) {
          continue;
        }
        var sv = vec4<f32>(0.0);
        var pv = vec4<f32>(0.0);
        for (var c = 0u; c < HDL; c++) {
          sv = fma(qS[i * HD4 + c0 + c], kr[c], sv);
          pv = fma(dS[i * HD4 + c0 + c], vr[c], pv);
        }
        sv = pairSum(sv);
        pv = pairSum(pv);
        let pj = select(exp(sv.x + sv.y + sv.z + sv.w - lS[i]), 0.0, masked);
        let ds = pj * (pv.x + pv.y + pv.z + pv.w - eS[i]);
        for (var c = 0u; c < HDL; c++) {
          gv[c] = fma(vec4<f32>(pj), dS[i * HD4 + c0 + c], gv[c]);
          gk[c] = fma(vec4<f32>(ds), qS[i * HD4 + c0 + c], gk[c]);
        }
      }
    }
  }
  if (valid) {
    let acc = p.accumulate != 0u;
    let obase = ((b * S + s) * p.Hkv * SPLIT + wid.y) * D;
    for (var c = 0u; c < HDL; c++) {
      for (var i = 0u; i < 4u; i++) {
        let d = (c0 + c) * 4u + i;
        if (d < D) {
          let ok = p.dk_off + obase + d;
          let ov = p.dv_off + obase + d;
          dk[ok] = gk[c][i] + select(0.0, dk[ok], acc);
          dv[ov] = gv[c][i] + select(0.0, dv[ov], acc);
        }
      }
    }
  }
}
