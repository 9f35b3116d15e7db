// cast: dst[doff + i] = convert(src[soff + i]) for i < n, between f32, f16 and bf16 (and a bit
// copy when both dtypes are equal). Dtypes are override constants DT_SRC / DT_DST (0 f32, 1 f16,
// 2 bf16). Bindings: 0 params {doff, soff, n}; 1 dst: array<u32> (read_write); 2 src: array<u32>.
// One thread per destination word (16-bit edges read-modify-write); 256 threads, linear_wg grid.

override DT_SRC: u32 = 0u;
override DT_DST: u32 = 0u;

struct Params {
  doff: u32,
  soff: u32,
  n: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;

// 16-bit pattern (or 32-bit word for dtype 0) of source element i converted to DT_DST.
fn converted(i: u32) -> u32 {
  let j = p.soff + i;
  let w = src[word_of(j, DT_SRC)];
  if (DT_SRC == DT_DST) {
    if (DT_SRC == 0u) {
      return w;
    }
    return (w >> ((j & 1u) * 16u)) & 0xffffu;
  }
  let x = decode_elem(w, j, DT_SRC);
  if (DT_DST == 0u) {
    return bitcast<u32>(x);
  }
  return encode_half(x, DT_DST);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_wg(wid, nwg) * 256u + lid;
  if (DT_DST == 0u) {
    if (t < p.n) {
      dst[p.doff + t] = converted(t);
    }
    return;
  }
  let w = (p.doff >> 1u) + t;
  if (p.n == 0u || w > ((p.doff + p.n - 1u) >> 1u)) {
    return;
  }
  var word = dst[w];
  for (var k = 0u; k < 2u; k++) {
    let e = 2u * w + k;
    if (e >= p.doff && e < p.doff + p.n) {
      let sh = 16u * k;
      word = (word & ~(0xffffu << sh)) | (converted(e - p.doff) << sh);
    }
  }
  dst[w] = word;
}
