// Flash attention. Entry `forward`: out (B, T, H, D) and lse (B, H, T) from q (B, T, H, D) and
// k, v (B, S, Hkv, D) stored as DT_KV (0 f32, 1 f16, 2 bf16, packed two per word). Entry
// `backward_dq`: dq (bound as `out`) from dO and delta = rowsum(dO * O) (attention_delta.wgsl);
// dk/dv are attention_bwd_kv.wgsl.
// One workgroup per (row tile, K/V head kvh, batch b); its "rows" are the (t, h) pairs of the GQ
// query heads that share kvh (row r: t = r / GQ, h = kvh * GQ + r % GQ), one thread per row, so a
// K/V tile staged in workgroup memory serves every head of the group (GQA/MQA and T = 1 decode).
// Online softmax with lazy rescaling; q and the accumulator live in registers as HD4 vec4s.
// Causal: query t sits at t + S - T and sees keys 0..t + S - T; a query that sees none gets 0, -inf.

override DT_KV: u32 = 0u;
override HD4: u32 = 16u;
override GQ: u32 = 1u;
override BQ: u32 = 64u;
override TK: u32 = 32u;
// Key splits (flash-decoding): with SPLITK > 1, `forward` handles keys [split * chunk, +chunk) and
// writes partials (m, l, acc[D]) to `out` laid out ((b * H + h) * T + t, split, D + 2) instead;
// attention_combine.wgsl merges them into out and lse.
override SPLITK: u32 = 1u;

const NEG: f32 = -1e30;

struct Params {
  out_off: u32,
  lse_off: u32,
  q_off: u32,
  k_off: u32,
  v_off: u32,
  T: u32,
  S: u32,
  H: u32,
  Hkv: u32,
  D: u32,
  scale: f32,
  causal: u32,
  do_off: u32,
  delta_off: u32,
  chunk: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> kb: array<u32>;
@group(0) @binding(5) var<storage, read> vb: array<u32>;
@group(0) @binding(6) var<storage, read> dO: array<f32>;
@group(0) @binding(7) var<storage, read> delta: array<f32>;

var<workgroup> kS: array<vec4<f32>, TK * HD4>;
var<workgroup> vS: array<vec4<f32>, TK * HD4>;

// Keys 0..visible-1 are seen by query t.
fn visible(t: u32) -> u32 {
  if (p.causal == 0u) {
    return p.S;
  }
  return u32(clamp(i32(t) + i32(p.S) - i32(p.T) + 1, 0, i32(p.S)));
}

fn kvElem(buf: u32, i: u32) -> f32 {
  if (buf == 0u) {
    return decode_elem(kb[word_of(i, DT_KV)], i, DT_KV);
  }
  return decode_elem(vb[word_of(i, DT_KV)], i, DT_KV);
}

// Stages keys j0..j0+TK-1 of head kvh (zero past S and past D) into kS / vS.
fn stageKV(b: u32, kvh: u32, j0: u32, lid: u32) {
  let D = p.D;
  for (var e = lid; e < TK * HD4; e += BQ) {
    let j = j0 + e / HD4;
    let d0 = (e % HD4) * 4u;
    var kx = vec4<f32>(0.0);
    var vx = vec4<f32>(0.0);
    if (j < p.S) {
      let base = ((b * p.S + j) * p.Hkv + kvh) * D;
      for (var c = 0u; c < 4u; c++) {
        if (d0 + c < D) {
          kx[c] = kvElem(0u, p.k_off + base + d0 + c);
          vx[c] = kvElem(1u, p.v_off + base + d0 + c);
        }
      }
    }
    kS[e] = kx;
    vS[e] = vx;
  }
}

// Row of q (or dO) at element offset `off`, times `mul`, zero past D. Two functions so that
// `forward` does not statically use (and need) the dO binding.
fn loadQ(off: u32, mul: f32) -> array<vec4<f32>, HD4> {
  var x: array<vec4<f32>, HD4>;
  for (var c = 0u; c < HD4; c++) {
    for (var i = 0u; i < 4u; i++) {
      if (c * 4u + i < p.D) {
        x[c][i] = q[off + c * 4u + i] * mul;
      }
    }
  }
  return x;
}

fn loadDO(off: u32) -> array<vec4<f32>, HD4> {
  var x: array<vec4<f32>, HD4>;
  for (var c = 0u; c < HD4; c++) {
    for (var i = 0u; i < 4u; i++) {
      if (c * 4u + i < p.D) {
        x[c][i] = dO[off + c * 4u + i];
      }
    }
  }
  return x;
}

fn storeRow(off: u32, x: array<vec4<f32>, HD4>) {
  for (var c = 0u; c < HD4; c++) {
    for (var i = 0u; i < 4u; i++) {
      if (c * 4u + i < p.D) {
        out[off + c * 4u + i] = x[c][i];
      }
    }
  }
}

@compute @workgroup_size(BQ, 1, 1)
fn forward(@builtin(local_invocation_id) lidv: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let lid = lidv.x;
  let b = wid.z;
  let kvh = wid.y;
  let T = p.T;
  let D = p.D;
  let rows = T * GQ;
  let tileId = wid.x / SPLITK;
  let split = wid.x % SPLITK;
  let r = tileId * BQ + lid;
  let valid = r < rows;
  let t = min(r, rows - 1u) / GQ;
  let h = kvh * GQ + min(r, rows - 1u) % GQ;
  let rowBase = ((b * T + t) * p.H + h) * D;

  let qr = loadQ(p.q_off + rowBase, p.scale);
  var acc: array<vec4<f32>, HD4>;
  for (var c = 0u; c < HD4; c++) {
    acc[c] = vec4<f32>(0.0);
  }
  var m = NEG;
  var l = 0.0;
  let k0 = split * p.chunk;
  let myKeys = select(0u, min(visible(t), k0 + p.chunk), valid);
  let lastRow = min(tileId * BQ + BQ, rows) - 1u;
  let kEnd = min(visible(lastRow / GQ), k0 + p.chunk);

  for (var j0 = k0; j0 < kEnd; j0 += TK) {
    workgroupBarrier();
    stageKV(b, kvh, j0, lid);
    workgroupBarrier();
    let n = min(TK, max(myKeys, j0) - j0);
    for (var j = 0u; j < n; j++) {
      var sv = vec4<f32>(0.0);
      for (var c = 0u; c < HD4; c++) {
        sv = fma(qr[c], kS[j * HD4 + c], sv);
      }
      let s = sv.x + sv.y + sv.z + sv.w;
      if (s > m) {
        let corr = exp(m - s);
        l *= corr;
        for (var c = 0u; c < HD4; c++) {
          acc[c] *= corr;
        }
        m = s;
      }
      let pj = exp(s - m);
      l += pj;
      for (var c = 0u; c < HD4; c++) {
        acc[c] = fma(vec4<f32>(pj), vS[j * HD4 + c], acc[c]);
      }
    }
  }

  if (valid && SPLITK > 1u) {
    let pb = (((b * p.H + h) * T + t) * SPLITK + split) * (D + 2u);
    storeRow(p.out_off + pb, acc);
    out[p.out_off + pb + D] = m;
    out[p.out_off + pb + D + 1u] = l;
  } else if (valid) {
    let inv = select(0.0, 1.0 / l, l > 0.0);
    for (var c = 0u; c < HD4; c++) {
      acc[c] *= inv;
    }
    storeRow(p.out_off + rowBase, acc);
    let negInf = -bitcast<f32>(0x7f800000u | (T & 0u));
    lse[p.lse_off + (b * p.H + h) * T + t] = select(negInf, m + log(l), l > 0.0);
  }
}

// dq[t, h] = scale * sum_j p_j (dO . v_j - delta) k_j with p_j = exp(scale q . k_j - lse).
@compute @workgroup_size(BQ, 1, 1)
fn backward_dq(@builtin(local_invocation_id) lidv: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let lid = lidv.x;
  let b = wid.z;
  let kvh = wid.y;
  let T = p.T;
  let D = p.D;
  let rows = T * GQ;
  let r = wid.x * BQ + lid;
  let valid = r < rows;
  let t = min(r, rows - 1u) / GQ;
  let h = kvh * GQ + min(r, rows - 1u) % GQ;
  let rowBase = ((b * T + t) * p.H + h) * D;
  let statIdx = (b * p.H + h) * T + t;
  let qr = loadQ(p.q_off + rowBase, p.scale);
  let dr = loadDO(p.do_off + rowBase);
  let lr = lse[p.lse_off + statIdx];
  let dl = delta[p.delta_off + statIdx];
  var acc: array<vec4<f32>, HD4>;
  for (var c = 0u; c < HD4; c++) {
    acc[c] = vec4<f32>(0.0);
  }
  let myKeys = select(0u, visible(t), valid);
  let lastRow = min(wid.x * BQ + BQ, rows) - 1u;
  let kEnd = visible(lastRow / GQ);

  for (var j0 = 0u; j0 < kEnd; j0 += TK) {
    workgroupBarrier();
    stageKV(b, kvh, j0, lid);
    workgroupBarrier();
    let n = min(TK, max(myKeys, j0) - j0);
    for (var j = 0u; j < n; j++) {
      var sv = vec4<f32>(0.0);
      var pv = vec4<f32>(0.0);
      for (var c = 0u; c < HD4; c++) {
        sv = fma(qr[c], kS[j * HD4 + c], sv);
        pv = fma(dr[c], vS[j * HD4 + c], pv);
      }
      let pj = exp(sv.x + sv.y + sv.z + sv.w - lr);
      let ds = pj * (pv.x + pv.y + pv.z + pv.w - dl);
      for (var c = 0u; c < HD4; c++) {
        acc[c] = fma(vec4<f32>(ds), kS[j * HD4 + c], acc[c]);
      }
    }
  }
  if (valid) {
    for (var c = 0u; c < HD4; c++) {
      acc[c] *= p.scale;
    }
    storeRow(p.out_off + rowBase, acc);
  }
}
