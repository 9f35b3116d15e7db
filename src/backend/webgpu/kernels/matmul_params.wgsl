// Shared by the matmul kernels (prepended by ops/matmul-source.ts): the 16 uniform words of
// ops/matmul.ts gemmParams, the output binding, and `emit` (4 outputs with alpha, accumulate and
// the CHECK bounds test; every matmul kernel). Regions, split-K and the partial buffer are
// read by matmul_tiled / matmul_unrolled; matmul_subgroup reads the first eleven words.

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
  splits: u32,
  kChunk: u32,
  mOrigin: u32,
  nOrigin: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// Columns n .. n + 3 of output row m: alpha * v (+ out), inside M x N when CHECK.
fn emit(m: u32, n: u32, v: vec4<f32>, oBase: u32) {
  let M = p.M;
  let N = p.N;
  for (var c = 0u; c < 4u; c++) {
    if (!CHECK || (m < M && n + c < N)) {
      let o = oBase + m * N + n + c;
      var x = p.alpha * v[c];
      if (p.accumulate != 0u) {
        x += out[o];
      }
      out[o] = x;
    }
  }
}
