// Register-tiled f32 matmul with its k loop written out: out(batch; M, N) = alpha * op(a) @ op(b)
// (+ out if accumulate). Same params, regions and split-K as matmul_tiled.wgsl. ops/matmul-source.ts
// prepends consts BM BN BK TM TN TRANS_A TRANS_B CHECK VA VB, bindings `a` (1) / `b` (2) with
// `fn loadA(i) -> vec4<f32>` / `loadB` (VA / VB elements from element i on along the operand's
// contiguous dimension, the rest zero; VA = 4 only when that dimension and the offset are
// multiples of 4), matmul_params.wgsl and matmul_vec_loads.wgsl (loadSlice), and fills the three
// marked lines: the TM * TN / 4 accumulators c0.., the BK steps of the inner loop, the epilogue.
// Why written out: every workgroup-memory read of the inner loop then has a constant inner index,
// so Dawn's robustness transform clamps only the per-thread outer index (once) and the compiler
// keeps 16 accumulators + fragments + the prefetched slice under the register budget of 4
// workgroups of 128 threads per multiprocessor. Measured on H100s at n = 4096 / 8192: 41-43 /
// 40-43.5 TFLOP/s alone, 37-41 / 42-43 through the backend (machine to machine), against ~34 for
// matmul_tiled's 128x128x4 and 22 for matmul_tiled with this very tile (bench/gpu/NOTES.md).
// Thread (tx, ty) of TX x TY owns rows 4 * (i * TY + ty) + r and columns 4 * (j * TX + tx) + c.
// One workgroup buffer per operand, the next K slice prefetched into registers meanwhile.

const TX: u32 = BN / TN;
const TY: u32 = BM / TM;
const NT: u32 = TX * TY;
// AT[ty][k * TM / 4 + i]: rows 4 * (i * TY + ty) .. + 3 at k; BT[tx][k * TN / 4 + j]: columns
// 4 * (j * TX + tx) .. + 3 at k. One vec4 of padding per thread against bank conflicts.
var<workgroup> AT: array<array<vec4<f32>, BK * TM / 4u + 1u>, TY>;
var<workgroup> BT: array<array<vec4<f32>, BK * TN / 4u + 1u>, TX>;

fn putA(m: u32, k: u32, x: f32) {
  AT[(m / 4u) % TY][k * (TM / 4u) + m / (4u * TY)][m % 4u] = x;
}

fn putB(k: u32, n: u32, x: f32) {
  BT[(n / 4u) % TX][k * (TN / 4u) + n / (4u * TX)][n % 4u] = x;
}

fn storeSlice(t: u32) {
  for (var l = 0u; l < LA; l++) {
    let c = aChunk(t + l * NT);
    if (TRANS_A && VA == 4u) {
      // 4 consecutive rows at one k: one vec4 of AT
      AT[(c.x / 4u) % TY][c.y * (TM / 4u) + c.x / (4u * TY)] = ra[l];
    } else {
      let v = ra[l];
      putA(c.x, c.y, v.x);
      if (VA == 4u) {
        putA(c.x, c.y + 1u, v.y);
        putA(c.x, c.y + 2u, v.z);
        putA(c.x, c.y + 3u, v.w);
      }
    }
  }
  for (var l = 0u; l < LB; l++) {
    let c = bChunk(t + l * NT);
    if (!TRANS_B && VB == 4u) {
      // 4 consecutive columns at one k: one vec4 of BT
      BT[(c.y / 4u) % TX][c.x * (TN / 4u) + c.y / (4u * TX)] = rb[l];
    } else {
      let v = rb[l];
      putB(c.x, c.y, v.x);
      if (VB == 4u) {
        putB(c.x + 1u, c.y, v.y);
        putB(c.x + 2u, c.y, v.z);
        putB(c.x + 3u, c.y, v.w);
      }
    }
  }
}

@compute @workgroup_size(TX, TY, 1)
fn main(
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
) {
  let tx = lid.x;
  let ty = lid.y;
  let t = ty * TX + tx;
  let bz = wid.z / p.splits;
  let kBegin = (wid.z % p.splits) * p.kChunk;
  let kEnd = min(p.K, kBegin + p.kChunk);
  let aBase = p.aOff + bz * p.aBatch;
  let bBase = p.bOff + bz * p.bBatch;
  let oBase = p.oOff + wid.z * p.oBatch;
  // Blocks run in groups of GROUP_M block rows, column by column inside a group, so the blocks
  // resident at once share A and B panels in L2 (GROUP_M = 0: row by row, the grid's own order).
  var bx = wid.x;
  var by = wid.y;
  if (GROUP_M > 0u) {
    let id = wid.y * nwg.x + wid.x;
    let per = GROUP_M * nwg.x;
    let first = (id / per) * GROUP_M;
    let rows = min(nwg.y - first, GROUP_M);
    by = first + (id % per) % rows;
    bx = (id % per) / rows;
  }
  let m0 = p.mOrigin + by * BM;
  let n0 = p.nOrigin + bx * BN;
  let ar = &AT[ty];
  let br = &BT[tx];

  //@ACCUMULATORS
  let nTiles = (kEnd - kBegin + BK - 1u) / BK;
  loadSlice(aBase, bBase, m0, n0, kBegin, kEnd, t);
  storeSlice(t);
  workgroupBarrier();
  for (var tile = 0u; tile < nTiles; tile++) {
    let more = tile + 1u < nTiles;
    if (more) {
      loadSlice(aBase, bBase, m0, n0, kBegin + (tile + 1u) * BK, kEnd, t);
    }
    //@INNER_LOOP
    workgroupBarrier();
    if (more) {
      storeSlice(t);
    }
    workgroupBarrier();
  }
  //@EPILOGUE
}
