// Shared by the matmul kernels (prepended by ops/matmul-source.ts): the 16 uniform words of
// ops/matmul.ts gemmParams and the output binding. Regions, split-K and the partial buffer are
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
