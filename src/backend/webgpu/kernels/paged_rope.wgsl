// Not a kernel: rotary-embedding helpers appended to the paged kernels that fuse rope
// (paged_kv_append.wgsl, paged_attention_vec.wgsl with ROPE = 1). Same method and table as
// rope.wgsl (ops/rope.ts ropeTable: [3][256][D/2][cos, sin] of the base-256 digits of the
// position, composed by angle addition), read from the including kernel's `tab` binding.

// (cos, sin) of a + b from (cos, sin) of a and of b.
fn rope_compose(a: vec2f, b: vec2f) -> vec2f {
  return vec2f(a.x * b.x - a.y * b.y, a.y * b.x + a.x * b.y);
}

fn rope_digit(off: u32, level: u32, idx: u32, i: u32, half: u32) -> vec2f {
  let o = off + ((level * 256u + idx) * half + i) * 2u;
  return vec2f(tab[o], tab[o + 1u]);
}

// (cos, sin) of position `pos` (< 2^24) for pair index i < half; table at element `off`.
fn rope_cs(off: u32, pos: u32, i: u32, half: u32) -> vec2f {
  let ps = pos & 0xffffffu;
  return rope_compose(
    rope_compose(rope_digit(off, 2u, ps >> 16u, i, half), rope_digit(off, 1u, (ps >> 8u) & 255u, i, half)),
    rope_digit(off, 0u, ps & 255u, i, half),
  );
}
