// Tensor-core matmul through chromium_experimental_subgroup_matrix (f16 x f16 -> f32, 16x16x16):
// out(batch; M, N) = alpha * op(a) @ op(b) (+ out). Operands are rounded to f16 when staged, so
// this is an opt-in lower-precision path (like TF32), used only when the device has shader-f16 and
// the subgroup-matrix feature (ops/matmul.ts). Prepended: TRANS_A TRANS_B CHECK, `b` + loadB.
// Workgroup 256 invocations = 8 subgroups of 32 (NVIDIA) over a 128 x 128 block; subgroup w owns
// rows 64 * (w / 4) .. +64 and columns 32 * (w % 4) .. +32 (4 x 2 result tiles of 16 x 16).
// The `enable f16; enable chromium_experimental_subgroup_matrix;
// enable chromium_disable_uniformity_analysis;` lines are prepended too (they must open the module).
// The last one (needs Dawn's allow_unsafe_apis) because WGSL cannot see that t / 32 is uniform
// within a subgroup. Measured on an H100: 19 / 46 / 50 / 53 TFLOP/s at n = 1024..8192.

struct Params {
  M: u32,
  N: u32,
  K: u32,
  aOff: u32,
  bOff: u32,
  oOff: u32,
  aBatch: u32,
  bBatch: u32,
  oBatch: u32,
  alpha: f32,
  accumulate: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// BM = BN = 128, BK = 32 come from the prepended header (ops/matmul.ts SUBGROUP_TILE).
const NT: u32 = 256u;
const LA: u32 = BM * BK / NT;
const LB: u32 = BN * BK / NT;

var<workgroup> As: array<f16, 2u * BM * BK>;
var<workgroup> Bs: array<f16, 2u * BK * BN>;
var<workgroup> Cs: array<f32, 8u * 256u>;
var<private> ra: array<f32, LA>;
var<private> rb: array<f32, LB>;

// Element e of the thread's share: A tile (m, k) stored As[m * BK + k]; B tile (k, n) Bs[k * BN + n].
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

fn loadSlice(aBase: u32, bBase: u32, m0: u32, n0: u32, k0: u32, t: u32) {
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
      ra[l] = select(0.0, a[idx], m < M && k < K);
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
      rb[l] = select(0.0, loadB(idx), n < N && k < K);
    } else {
      rb[l] = loadB(idx);
    }
  }
}

fn storeSlice(buf: u32, t: u32) {
  for (var l = 0u; l < LA; l++) {
    let c = aCoord(t + l * NT);
    As[buf * BM * BK + c.x * BK + c.y] = f16(ra[l]);
  }
  for (var l = 0u; l < LB; l++) {
    let c = bCoord(t + l * NT);
    Bs[buf * BK * BN + c.y * BN + c.x] = f16(rb[l]);
  }
}

// Subgroup w's result tile (i, j) -> Cs (its own 16 x 16 region) -> alpha, accumulate, bounds.
fn epilogue(w: u32, lane: u32, row0: u32, col0: u32, oBase: u32) {
  let M = p.M;
  let N = p.N;
  for (var e = lane; e < 256u; e += 32u) {
    let m = row0 + e / 16u;
    let n = col0 + e % 16u;
    if (m < M && n < N) {
      let o = oBase + m * N + n;
      var x = p.alpha * Cs[w * 256u + e];
      if (p.accumulate != 0u) {
        x += out[o];
      }
      out[o] = x;
    }
  }
}

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let w = t / 32u;
  let lane = t % 32u;
  let aBase = p.aOff + wid.z * p.aBatch;
  let bBase = p.bOff + wid.z * p.bBatch;
  let oBase = p.oOff + wid.z * p.oBatch;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let wm = (w / 4u) * 64u;
  let wn = (w % 4u) * 32u;

  var c00 = subgroup_matrix_result<f32, 16, 16>();
  var c01 = subgroup_matrix_result<f32, 16, 16>();
  var c10 = subgroup_matrix_result<f32, 16, 16>();
  var c11 = subgroup_matrix_result<f32, 16, 16>();
  var c20 = subgroup_matrix_result<f32, 16, 16>();
  var c21 = subgroup_matrix_result<f32, 16, 16>();
  var c30 = subgroup_matrix_result<f32, 16, 16>();
  var c31 = subgroup_matrix_result<f32, 16, 16>();

  let nTiles = (p.K + BK - 1u) / BK;
  loadSlice(aBase, bBase, m0, n0, 0u, t);
  storeSlice(0u, t);
  workgroupBarrier();
  for (var tile = 0u; tile < nTiles; tile++) {
    let cur = tile & 1u;
    let more = tile + 1u < nTiles;
    if (more) {
      loadSlice(aBase, bBase, m0, n0, (tile + 1u) * BK, t);
    }
    let ab = cur * BM * BK;
    let bb = cur * BK * BN;
    for (var kk = 0u; kk < BK; kk += 16u) {
      let a0 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As, ab + (wm + 0u) * BK + kk, BK);
      let a1 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As, ab + (wm + 16u) * BK + kk, BK);
      let a2 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As, ab + (wm + 32u) * BK + kk, BK);
      let a3 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As, ab + (wm + 48u) * BK + kk, BK);
      let b0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs, bb + kk * BN + wn, BN);
      let b1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs, bb + kk * BN + wn + 16u, BN);
      c00 = subgroupMatrixMultiplyAccumulate(a0, b0, c00);
      c01 = subgroupMatrixMultiplyAccumulate(a0, b1, c01);
      c10 = subgroupMatrixMultiplyAccumulate(a1, b0, c10);
      c11 = subgroupMatrixMultiplyAccumulate(a1, b1, c11);
      c20 = subgroupMatrixMultiplyAccumulate(a2, b0, c20);
      c21 = subgroupMatrixMultiplyAccumulate(a2, b1, c21);
      c30 = subgroupMatrixMultiplyAccumulate(a3, b0, c30);
      c31 = subgroupMatrixMultiplyAccumulate(a3, b1, c31);
    }
    if (more) {
      storeSlice(cur ^ 1u, t);
    }
    workgroupBarrier();
  }

  let r0 = m0 + wm;
  let q0 = n0 + wn;
  subgroupMatrixStore<row_major>(&Cs, w * 256u, c00, 16u);
  workgroupBarrier();
  epilogue(w, lane, r0, q0, oBase);
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&Cs, w * 256u, c01, 16u);
  workgroupBarrier();
  epilogue(w, lane, r0, q0 + 16u, oBase);
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&Cs, w * 256u, c10, 16u);
  workgroupBarrier();
  epilogue(w, lane, r0 + 16u, q0, oBase);
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&Cs, w * 256u, c11, 16u);
  workgroupBarrier();
  epilogue(w, lane, r0 + 16u, q0 + 16u, oBase);
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&Cs, w * 256u, c20, 16u);
  workgroupBarrier();
  epilogue(w, lane, r0 + 32u, q0, oBase);
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&Cs, w * 256u, c21, 16u);
  workgroupBarrier();
  epilogue(w, lane, r0 + 32u, q0 + 16u, oBase);
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&Cs, w * 256u, c30, 16u);
  workgroupBarrier();
  epilogue(w, lane, r0 + 48u, q0, oBase);
  workgroupBarrier();
  subgroupMatrixStore<row_major>(&Cs, w * 256u, c31, 16u);
  workgroupBarrier();
  epilogue(w, lane, r0 + 48u, q0 + 16u, oBase);
}
