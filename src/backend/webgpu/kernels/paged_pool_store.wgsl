// Not a kernel: the pool store helper appended to kernels that write K/V pool rows
// (paged_kv_append.wgsl, the fused q/k/v + append of paged_qkv_append.wgsl). The including
// kernel declares `kpool` and `vpool` (array<u32>, read_write) and `override DT_POOL: u32`
// (0 f32, 1 f16, 2 bf16; the same rounding as paged_kv_write.wgsl).

// Stores elements (a, b) at element index i (even) of the V pool (is_v) or the K pool.
fn store2(is_v: bool, i: u32, a: f32, b: f32) {
  if (DT_POOL == 0u) {
    if (is_v) {
      vpool[i] = bitcast<u32>(a);
      vpool[i + 1u] = bitcast<u32>(b);
    } else {
      kpool[i] = bitcast<u32>(a);
      kpool[i + 1u] = bitcast<u32>(b);
    }
    return;
  }
  let wv = encode_half(a, DT_POOL) | (encode_half(b, DT_POOL) << 16u);
  if (is_v) {
    vpool[i >> 1u] = wv;
  } else {
    kpool[i >> 1u] = wv;
  }
}
