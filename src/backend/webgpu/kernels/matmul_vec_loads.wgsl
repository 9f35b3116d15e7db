// Shared by matmul_unrolled and matmul_subgroup (prepended by ops/matmul-source.ts): each
// thread's share of a K slice of op(a) and op(b) as chunks of VA / VB elements along the operands'
// contiguous dimensions, loaded into registers (ra, rb) with bounds tests when CHECK. The kernel
// defines NT (threads) and BM BN BK; the header gives TRANS_A TRANS_B CHECK VA VB, loadA, loadB.

// Chunks of VA (VB) elements: along each line of the contiguous dimension, and per thread.
const AC: u32 = select(BK, BM, TRANS_A) / VA;
const BC: u32 = select(BN, BK, TRANS_B) / VB;
const LA: u32 = BM * BK / VA / NT;
const LB: u32 = BK * BN / VB / NT;

var<private> ra: array<vec4<f32>, LA>;
var<private> rb: array<vec4<f32>, LB>;

// Tile position (m, k) / (k, n) of chunk e's first element.
fn aChunk(e: u32) -> vec2<u32> {
  let line = e / AC;
  let c = (e % AC) * VA;
  return select(vec2<u32>(line, c), vec2<u32>(c, line), TRANS_A);
}

fn bChunk(e: u32) -> vec2<u32> {
  let line = e / BC;
  let c = (e % BC) * VB;
  return select(vec2<u32>(line, c), vec2<u32>(c, line), TRANS_B);
}

// This thread's chunks of the K slice from k0 (kEnd: the end of this split's K range).
fn loadSlice(aBase: u32, bBase: u32, m0: u32, n0: u32, k0: u32, kEnd: u32, t: u32) {
  let M = p.M;
  let N = p.N;
  let K = p.K;
  for (var l = 0u; l < LA; l++) {
    let c = aChunk(t + l * NT);
    let m = m0 + c.x;
    let k = k0 + c.y;
    let idx = select(aBase + m * K + k, aBase + k * M + m, TRANS_A);
    if (CHECK) {
      ra[l] = select(vec4<f32>(0.0), loadA(idx), m < M && k < kEnd);
    } else {
      ra[l] = loadA(idx);
    }
  }
  for (var l = 0u; l < LB; l++) {
    let c = bChunk(t + l * NT);
    let k = k0 + c.x;
    let n = n0 + c.y;
    let idx = select(bBase + k * N + n, bBase + n * K + k, TRANS_B);
    if (CHECK) {
      rb[l] = select(vec4<f32>(0.0), loadB(idx), n < N && k < kEnd);
    } else {
      rb[l] = loadB(idx);
    }
  }
}
