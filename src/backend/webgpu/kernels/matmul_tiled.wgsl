// Register-tiled f32 matmul: out(batch; M, N) = alpha * op(a) @ op(b) (+ out if accumulate).
// Prepended by ops/matmul-source.ts: consts BM BN BK TM TN TRANS_A TRANS_B CHECK, the binding of
// `b` (binding 2), `fn loadB(i: u32) -> f32` for b's storage dtype (f32, packed f16 or bf16) and
// matmul_params.wgsl (Params, `p`, `out`, `emit`).
// Each workgroup computes a BM x BN block, each thread TM x TN of it (in 4x4 sub-blocks spread by
// 4*TY rows / 4*TX columns); K is walked in BK slices through double-buffered workgroup memory.
// Regions: block (wid.x, wid.y) starts at (mOrigin + wid.y*BM, nOrigin + wid.x*BN); M, N, K are the
// full sizes (strides and bounds). Split-K: wid.z = batch entry * splits + s; split s covers
// K [s*kChunk, min(K, (s+1)*kChunk)) and writes out entry wid.z (a partial buffer, reduced by
// matmul_reduce.wgsl). CHECK = false only when the dispatched blocks lie inside M x N and every
// K range is a multiple of BK: bounds tests sit in the global loads and the final store only.

@group(0) @binding(1) var<storage, read> a: array<f32>;

const TX: u32 = BN / TN;
const TY: u32 = BM / TM;
const NT: u32 = TX * TY;
const LA: u32 = BM * BK / NT;
const LB: u32 = BN * BK / NT;
// Rows of the tiles in vec4 units, padded by one vec4 against bank conflicts on transposing stores.
const AS: u32 = BM / 4u + 1u;
const BS: u32 = BN / 4u + 1u;

var<workgroup> As: array<vec4<f32>, 2u * BK * AS>;
var<workgroup> Bs: array<vec4<f32>, 2u * BK * BS>;

// Element e of this thread's share of the A tile at k0: (m, k) within the tile.
fn aCoord(e: u32) -> vec2<u32> {
  if (TRANS_A) {
    return vec2<u32>(e % BM, e / BM);
  }
  return vec2<u32>(e / BK, e % BK);
}

fn bCoord(e: u32) -> vec2<u32> {
  if (TRANS_B) {
    return vec2<u32>(e / BK, e % BK);
  }
  return vec2<u32>(e % BN, e / BN);
}

var<private> ra: array<f32, LA>;
var<private> rb: array<f32, LB>;

// This thread's share of the K slice starting at k0, from global memory into registers.
// kEnd: the end of this split's K range (CHECK tests k < kEnd; K stays the row stride).
fn loadSlice(aBase: u32, bBase: u32, m0: u32, n0: u32, k0: u32, kEnd: u32, t: u32) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  for (var l = 0u; l < LA; l++) {
    let c = aCoord(t + l * NT);
    let m = m0 + c.x;
    let k = k0 + c.y;
    var idx: u32;
    if (TRANS_A) { idx = aBase + k * M + m; } else { idx = aBase + m * K + k; }
    if (CHECK) {
      ra[l] = select(0.0, a[idx], m < M && k < kEnd);
    } else {
      ra[l] = a[idx];
    }
  }
  for (var l = 0u; l < LB; l++) {
    let c = bCoord(t + l * NT);
    let n = n0 + c.x;
    let k = k0 + c.y;
    var idx: u32;
    if (TRANS_B) { idx = bBase + n * K + k; } else { idx = bBase + k * N + n; }
    if (CHECK) {
      rb[l] = select(0.0, loadB(idx), n < N && k < kEnd);
    } else {
      rb[l] = loadB(idx);
    }
  }
}

// Registers -> workgroup buffer `buf` (0 or 1), transposed so that m / n run along the rows.
fn storeSlice(buf: u32, t: u32) {
  for (var l = 0u; l < LA; l++) {
    let c = aCoord(t + l * NT);
    As[buf * BK * AS + c.y * AS + c.x / 4u][c.x % 4u] = ra[l];
  }
  for (var l = 0u; l < LB; l++) {
    let c = bCoord(t + l * NT);
    Bs[buf * BK * BS + c.y * BS + c.x / 4u][c.x % 4u] = rb[l];
  }
}

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let t = ty * TX + tx;
  let bz = wid.z / p.splits;
  let kBegin = (wid.z % p.splits) * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);
  let aBase = p.aOff + bz * p.aBatch;
  let bBase = p.bOff + bz * p.bBatch;
  let oBase = p.oOff + wid.z * p.oBatch;
  let m0 = p.mOrigin + wid.y * BM;
  let n0 = p.nOrigin + wid.x * BN;

  var acc: array<vec4<f32>, TM * TN / 4u>;
  for (var i = 0u; i < TM * TN / 4u; i++) {
    acc[i] = vec4<f32>(0.0);
  }
  let nTiles = (kEnd - kBegin + BK - 1u) / BK;
  loadSlice(aBase, bBase, m0, n0, kBegin, kEnd, t);
  storeSlice(0u, t);
  workgroupBarrier();

  for (var tile = 0u; tile < nTiles; tile++) {
    let cur = tile & 1u;
    let more = tile + 1u < nTiles;
    if (more) {
      loadSlice(aBase, bBase, m0, n0, kBegin + (tile + 1u) * BK, kEnd, t);
    }

    let aTile = cur * BK * AS;
    let bTile = cur * BK * BS;
    for (var k = 0u; k < BK; k++) {
      var af: array<vec4<f32>, TM / 4u>;
      var bf: array<vec4<f32>, TN / 4u>;
      for (var i = 0u; i < TM / 4u; i++) {
        af[i] = As[aTile + k * AS + i * TY + ty];
      }
      for (var j = 0u; j < TN / 4u; j++) {
        bf[j] = Bs[bTile + k * BS + j * TX + tx];
      }
      for (var i = 0u; i < TM / 4u; i++) {
        for (var r = 0u; r < 4u; r++) {
          let av = vec4<f32>(af[i][r]);
          for (var j = 0u; j < TN / 4u; j++) {
            let x = (i * 4u + r) * (TN / 4u) + j;
            acc[x] = fma(av, bf[j], acc[x]);
          }
        }
      }
    }

    if (more) {
      storeSlice(cur ^ 1u, t);
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < TM / 4u; i++) {
    for (var r = 0u; r < 4u; r++) {
      let m = m0 + i * 4u * TY + ty * 4u + r;
      for (var j = 0u; j < TN / 4u; j++) {
        emit(m, n0 + j * 4u * TX + tx * 4u, acc[(i * 4u + r) * (TN / 4u) + j], oBase);
      }
    }
  }
}
