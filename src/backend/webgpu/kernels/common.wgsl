// Shared helpers, prepended to every kernels/*.wgsl by ../kernel-source.ts (not a kernel itself).
// Storage dtype codes (for override constants): 0 = 32-bit (f32 or i32), 1 = f16, 2 = bf16.
// f16/bf16 are packed two per u32 word, element 2w in the low half of word w.
// Conversions round to nearest even, like src/backend/dtype-convert.ts on the host.

// Linear workgroup id of a 2-D dispatch of n workgroups (runtime splits n over x and y).
fn linear_wg(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// A quiet NaN that the shader compiler cannot constant-fold (pass any runtime value as `seed`).
fn runtime_nan(seed: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (seed & 0u));
}

// Word holding element i of a buffer of dtype dt.
fn word_of(i: u32, dt: u32) -> u32 {
  return select(i >> 1u, i, dt == 0u);
}

// Element i (as f32) given the word that holds it.
fn decode_elem(w: u32, i: u32, dt: u32) -> f32 {
  if (dt == 0u) {
    return bitcast<f32>(w);
  }
  let h = (w >> ((i & 1u) * 16u)) & 0xffffu;
  if (dt == 1u) {
    return unpack2x16float(h).x;
  }
  return bitcast<f32>(h << 16u);
}

fn f32_to_f16_bits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  let sign = (b >> 16u) & 0x8000u;
  let a = b & 0x7fffffffu;
  if (a > 0x7f800000u) {
    return sign | 0x7e00u;
  }
  if (a >= 0x477ff000u) {
    return sign | 0x7c00u;
  }
  if (a >= 0x38800000u) {
    let r = a - 0x38000000u;
    return sign | ((r + 0x0fffu + ((r >> 13u) & 1u)) >> 13u);
  }
  let e = a >> 23u;
  if (e < 102u) {
    return sign;
  }
  let m = (a & 0x7fffffu) | 0x800000u;
  let s = 126u - e;
  var q = m >> s;
  let rem = m & ((1u << s) - 1u);
  let half = 1u << (s - 1u);
  if (rem > half || (rem == half && (q & 1u) == 1u)) {
    q = q + 1u;
  }
  return sign | q;
}

fn f32_to_bf16_bits(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  if ((b & 0x7fffffffu) > 0x7f800000u) {
    return (b >> 16u) | 0x40u;
  }
  return (b + 0x7fffu + ((b >> 16u) & 1u)) >> 16u;
}

// 16-bit pattern of x in dtype dt (1 = f16, 2 = bf16).
fn encode_half(x: f32, dt: u32) -> u32 {
  if (dt == 1u) {
    return f32_to_f16_bits(x);
  }
  return f32_to_bf16_bits(x);
}
