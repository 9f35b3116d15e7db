// Tensor-core matmul through chromium_experimental_subgroup_matrix (f16 x f16 -> f32, 16x16x16):
// out(batch; M, N) = alpha * op(a) @ op(b) (+ out). Operands are rounded to f16 when staged, so
// this is an opt-in lower-precision path (like TF32), used only when the device has shader-f16 and
// the subgroup-matrix feature (ops/matmul.ts).
// Prepended by ops/matmul-source.ts: the `enable` lines; consts BM (128) BN (256) BK (32) TRANS_A
// TRANS_B CHECK VA VB; bindings `a` (1) and `b` (2) with `fn loadA(i) -> vec4<f32>` / `loadB`,
// which return the VA / VB (4 or 1, the rest zero) elements from element i on along the operand's
// contiguous dimension (k or m for a, n or k for b; VA = 4 only when that dimension and the offsets
// are multiples of 4, so a chunk of 4 is wholly inside or outside the matrix); matmul_params.wgsl
// and matmul_vec_loads.wgsl (loadSlice).
// Workgroup: 8 subgroups of 32 (NVIDIA) over a BM x BN block; subgroup w owns a 64 x 64 region
// (4 x 4 result matrices): row group w / 4, column group w % 4. K walks in BK slices staged once
// in workgroup memory, the next slice held in registers meanwhile.
// Dawn's robustness transform wraps every subgroupMatrixLoad/Store in a bounds test unless array,
// offset and stride are all constants (measured on an H100: 114 TFLOP/s with the tests, 206 without
// at n = 4096). So the tiles are arrays per 64-row (A) / 64-column (B) group: the dynamic part of a
// matrix's position is the group index (one clamp), offsets and strides are constants, and the two
// 16-deep k steps of a slice are written out. Rows are padded by 8 halves (16 bytes) so the 8 rows
// of one matrix-load phase hit different banks; odd half-subgroups store their 4 halves in rotated
// order so the two halves of a subgroup use different banks (+13%).
// `chromium_disable_uniformity_analysis` (needs Dawn's allow_unsafe_apis): WGSL cannot see that
// t / 32 is uniform within a subgroup.

const NT: u32 = 256u;
// the main loop writes out the two 16-deep k steps of a slice
const_assert BK == 32u;
// Row strides (halves) of the A groups (64 x BK) and B groups (BK x 64).
const AST: u32 = BK + 8u;
const GST: u32 = 72u;

// A (m, k) at As[m / 64][(m % 64) * AST + k]; B (k, n) at Bs[n / 64][k * GST + n % 64].
var<workgroup> As: array<array<f16, 64u * AST>, BM / 64u>;
var<workgroup> Bs: array<array<f16, BK * GST>, BN / 64u>;
var<workgroup> Cs: array<array<f32, 256>, 8>;

fn putA(c: vec2<u32>, j: u32, x: f16) {
  let m = c.x + select(0u, j, TRANS_A);
  let k = c.y + select(j, 0u, TRANS_A);
  As[m / 64u][(m % 64u) * AST + k] = x;
}

fn putB(c: vec2<u32>, j: u32, x: f16) {
  let k = c.x + select(0u, j, TRANS_B);
  let n = c.y + select(j, 0u, TRANS_B);
  Bs[n / 64u][k * GST + n % 64u] = x;
}

// Registers -> workgroup tiles. A chunk of 4 is stored as two pairs, the pair at +2 first in odd
// half-subgroups (bank spread, see the header); no dynamic vector indexing (it compiled to ~2.5x
// slower code).
fn storeSlice(t: u32) {
  let odd = (t & 16u) != 0u;
  let j0 = select(0u, 2u, odd);
  let j1 = 2u - j0;
  for (var l = 0u; l < LA; l++) {
    let c = aChunk(t + l * NT);
    let v = vec4<f16>(ra[l]);
    if (VA == 1u) {
      putA(c, 0u, v.x);
    } else {
      let first = select(v.xy, v.zw, odd);
      let second = select(v.zw, v.xy, odd);
      putA(c, j0, first.x);
      putA(c, j0 + 1u, first.y);
      putA(c, j1, second.x);
      putA(c, j1 + 1u, second.y);
    }
  }
  for (var l = 0u; l < LB; l++) {
    let c = bChunk(t + l * NT);
    let v = vec4<f16>(rb[l]);
    if (VB == 1u) {
      putB(c, 0u, v.x);
    } else {
      let first = select(v.xy, v.zw, odd);
      let second = select(v.zw, v.xy, odd);
      putB(c, j0, first.x);
      putB(c, j0 + 1u, first.y);
      putB(c, j1, second.x);
      putB(c, j1 + 1u, second.y);
    }
  }
}

// Result matrix c of this subgroup -> its 16 x 16 staging area -> out at (row0, col0) through
// emit (alpha, accumulate, bounds), 4 columns per lane and step. Every subgroup calls it the same
// number of times (barriers).
fn stageOut(c: subgroup_matrix_result<f32, 16, 16>, w: u32, lane: u32, row0: u32, col0: u32, oBase: u32) {
  subgroupMatrixStore<row_major>(&Cs[w], 0u, c, 16u);
  workgroupBarrier();
  for (var e = lane; e < 64u; e += 32u) {
    let i = 4u * e;
    emit(row0 + e / 4u, col0 + i % 16u, vec4<f32>(Cs[w][i], Cs[w][i + 1u], Cs[w][i + 2u], Cs[w][i + 3u]), oBase);
  }
  workgroupBarrier();
}

// The 16 accumulators are separate variables, every matrix a `let`: an array of subgroup matrices
// (even indexed by constants) ran 4x slower on an H100, as if kept in memory.
@compute @workgroup_size(256, 1, 1)
fn main(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let w = t / 32u;
  let lane = t % 32u;
  let aBase = p.aOff + wid.z * p.aBatch;
  let bBase = p.bOff + wid.z * p.bBatch;
  let oBase = p.oOff + wid.z * p.oBatch;
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  // this subgroup's A row group and B column group
  let ga = w / 4u;
  let gb = w % 4u;

  var c00 = subgroup_matrix_result<f32, 16, 16>();
  var c01 = subgroup_matrix_result<f32, 16, 16>();
  var c02 = subgroup_matrix_result<f32, 16, 16>();
  var c03 = subgroup_matrix_result<f32, 16, 16>();
  var c10 = subgroup_matrix_result<f32, 16, 16>();
  var c11 = subgroup_matrix_result<f32, 16, 16>();
  var c12 = subgroup_matrix_result<f32, 16, 16>();
  var c13 = subgroup_matrix_result<f32, 16, 16>();
  var c20 = subgroup_matrix_result<f32, 16, 16>();
  var c21 = subgroup_matrix_result<f32, 16, 16>();
  var c22 = subgroup_matrix_result<f32, 16, 16>();
  var c23 = subgroup_matrix_result<f32, 16, 16>();
  var c30 = subgroup_matrix_result<f32, 16, 16>();
  var c31 = subgroup_matrix_result<f32, 16, 16>();
  var c32 = subgroup_matrix_result<f32, 16, 16>();
  var c33 = subgroup_matrix_result<f32, 16, 16>();
  let nTiles = (p.K + BK - 1u) / BK;
  loadSlice(aBase, bBase, m0, n0, 0u, p.K, t);
  storeSlice(t);
  workgroupBarrier();
  for (var tile = 0u; tile < nTiles; tile++) {
    let more = tile + 1u < nTiles;
    if (more) {
      loadSlice(aBase, bBase, m0, n0, (tile + 1u) * BK, p.K, t);
    }
    // k 0 .. 15 of the slice
    let a00 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As[ga], 0u * AST + 0u, AST);
    let a01 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As[ga], 16u * AST + 0u, AST);
    let a02 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As[ga], 32u * AST + 0u, AST);
    let a03 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As[ga], 48u * AST + 0u, AST);
    let b00 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs[gb], 0u * GST + 0u, GST);
    let b01 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs[gb], 0u * GST + 16u, GST);
    let b02 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs[gb], 0u * GST + 32u, GST);
    let b03 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs[gb], 0u * GST + 48u, GST);
    c00 = subgroupMatrixMultiplyAccumulate(a00, b00, c00);
    c01 = subgroupMatrixMultiplyAccumulate(a00, b01, c01);
    c02 = subgroupMatrixMultiplyAccumulate(a00, b02, c02);
    c03 = subgroupMatrixMultiplyAccumulate(a00, b03, c03);
    c10 = subgroupMatrixMultiplyAccumulate(a01, b00, c10);
    c11 = subgroupMatrixMultiplyAccumulate(a01, b01, c11);
    c12 = subgroupMatrixMultiplyAccumulate(a01, b02, c12);
    c13 = subgroupMatrixMultiplyAccumulate(a01, b03, c13);
    c20 = subgroupMatrixMultiplyAccumulate(a02, b00, c20);
    c21 = subgroupMatrixMultiplyAccumulate(a02, b01, c21);
    c22 = subgroupMatrixMultiplyAccumulate(a02, b02, c22);
    c23 = subgroupMatrixMultiplyAccumulate(a02, b03, c23);
    c30 = subgroupMatrixMultiplyAccumulate(a03, b00, c30);
    c31 = subgroupMatrixMultiplyAccumulate(a03, b01, c31);
    c32 = subgroupMatrixMultiplyAccumulate(a03, b02, c32);
    c33 = subgroupMatrixMultiplyAccumulate(a03, b03, c33);
    // k 16 .. 31 of the slice
    let a10 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As[ga], 0u * AST + 16u, AST);
    let a11 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As[ga], 16u * AST + 16u, AST);
    let a12 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As[ga], 32u * AST + 16u, AST);
    let a13 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&As[ga], 48u * AST + 16u, AST);
    let b10 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs[gb], 16u * GST + 0u, GST);
    let b11 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs[gb], 16u * GST + 16u, GST);
    let b12 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs[gb], 16u * GST + 32u, GST);
    let b13 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&Bs[gb], 16u * GST + 48u, GST);
    c00 = subgroupMatrixMultiplyAccumulate(a10, b10, c00);
    c01 = subgroupMatrixMultiplyAccumulate(a10, b11, c01);
    c02 = subgroupMatrixMultiplyAccumulate(a10, b12, c02);
    c03 = subgroupMatrixMultiplyAccumulate(a10, b13, c03);
    c10 = subgroupMatrixMultiplyAccumulate(a11, b10, c10);
    c11 = subgroupMatrixMultiplyAccumulate(a11, b11, c11);
    c12 = subgroupMatrixMultiplyAccumulate(a11, b12, c12);
    c13 = subgroupMatrixMultiplyAccumulate(a11, b13, c13);
    c20 = subgroupMatrixMultiplyAccumulate(a12, b10, c20);
    c21 = subgroupMatrixMultiplyAccumulate(a12, b11, c21);
    c22 = subgroupMatrixMultiplyAccumulate(a12, b12, c22);
    c23 = subgroupMatrixMultiplyAccumulate(a12, b13, c23);
    c30 = subgroupMatrixMultiplyAccumulate(a13, b10, c30);
    c31 = subgroupMatrixMultiplyAccumulate(a13, b11, c31);
    c32 = subgroupMatrixMultiplyAccumulate(a13, b12, c32);
    c33 = subgroupMatrixMultiplyAccumulate(a13, b13, c33);
    workgroupBarrier();
    if (more) {
      storeSlice(t);
    }
    workgroupBarrier();
  }

  let N = p.N;
  let r0 = m0 + ga * 64u;
  let q0 = n0 + gb * 64u;
  if (!CHECK && p.alpha == 1.0 && p.accumulate == 0u) {
    let o = oBase + r0 * N + q0;
    let o16 = 16u * N;
    subgroupMatrixStore<row_major>(&out, o, c00, N);
    subgroupMatrixStore<row_major>(&out, o + 16u, c01, N);
    subgroupMatrixStore<row_major>(&out, o + 32u, c02, N);
    subgroupMatrixStore<row_major>(&out, o + 48u, c03, N);
    subgroupMatrixStore<row_major>(&out, o + o16, c10, N);
    subgroupMatrixStore<row_major>(&out, o + o16 + 16u, c11, N);
    subgroupMatrixStore<row_major>(&out, o + o16 + 32u, c12, N);
    subgroupMatrixStore<row_major>(&out, o + o16 + 48u, c13, N);
    subgroupMatrixStore<row_major>(&out, o + 2u * o16, c20, N);
    subgroupMatrixStore<row_major>(&out, o + 2u * o16 + 16u, c21, N);
    subgroupMatrixStore<row_major>(&out, o + 2u * o16 + 32u, c22, N);
    subgroupMatrixStore<row_major>(&out, o + 2u * o16 + 48u, c23, N);
    subgroupMatrixStore<row_major>(&out, o + 3u * o16, c30, N);
    subgroupMatrixStore<row_major>(&out, o + 3u * o16 + 16u, c31, N);
    subgroupMatrixStore<row_major>(&out, o + 3u * o16 + 32u, c32, N);
    subgroupMatrixStore<row_major>(&out, o + 3u * o16 + 48u, c33, N);
    return;
  }
  stageOut(c00, w, lane, r0, q0, oBase);
  stageOut(c01, w, lane, r0, q0 + 16u, oBase);
  stageOut(c02, w, lane, r0, q0 + 32u, oBase);
  stageOut(c03, w, lane, r0, q0 + 48u, oBase);
  stageOut(c10, w, lane, r0 + 16u, q0, oBase);
  stageOut(c11, w, lane, r0 + 16u, q0 + 16u, oBase);
  stageOut(c12, w, lane, r0 + 16u, q0 + 32u, oBase);
  stageOut(c13, w, lane, r0 + 16u, q0 + 48u, oBase);
  stageOut(c20, w, lane, r0 + 32u, q0, oBase);
  stageOut(c21, w, lane, r0 + 32u, q0 + 16u, oBase);
  stageOut(c22, w, lane, r0 + 32u, q0 + 32u, oBase);
  stageOut(c23, w, lane, r0 + 32u, q0 + 48u, oBase);
  stageOut(c30, w, lane, r0 + 48u, q0, oBase);
  stageOut(c31, w, lane, r0 + 48u, q0 + 16u, oBase);
  stageOut(c32, w, lane, r0 + 48u, q0 + 32u, oBase);
  stageOut(c33, w, lane, r0 + 48u, q0 + 48u, oBase);
}
