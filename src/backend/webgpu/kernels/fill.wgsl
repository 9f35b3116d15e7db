// fill: dst[off .. off + n) = a 32-bit or 16-bit pattern, any dtype (f32, i32, f16, bf16).
// Bindings: 0 params {off, n, bits, half}; 1 dst: array<u32> (read_write).
// One thread per destination word; 256 threads per workgroup, 1-D/2-D grid via linear_wg.
// 16-bit views at odd offsets: the edge words keep the halves outside the view (read-modify-write).

struct Params {
  off: u32,
  n: u32,
  bits: u32,
  half: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_wg(wid, nwg) * 256u + lid;
  if (p.half == 0u) {
    if (t < p.n) {
      dst[p.off + t] = p.bits;
    }
    return;
  }
  let w = (p.off >> 1u) + t;
  let last = (p.off + p.n - 1u) >> 1u;
  if (p.n == 0u || w > last) {
    return;
  }
  var word = dst[w];
  for (var k = 0u; k < 2u; k++) {
    let e = 2u * w + k;
    if (e >= p.off && e < p.off + p.n) {
      let sh = 16u * k;
      word = (word & ~(0xffffu << sh)) | ((p.bits & 0xffffu) << sh);
    }
  }
  dst[w] = word;
}
