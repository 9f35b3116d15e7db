// Not a kernel: the query loader appended to the partials kernels that rope on load
// (paged_attention_vec.wgsl, paged_attention_mma.wgsl; with paged_rope.wgsl and paged_rows.wgsl).
// Uses the kernel's HD and ROPE, the `q` binding and `tab` (the rope table).

// Element d of the query head starting at q[head], rotated by position `pos` when ROPE = 1.
fn query_elem(head: u32, d: u32, pos: u32) -> f32 {
  if (ROPE == 0u) {
    return q[head + d];
  }
  let half = HD / 2u;
  let i = d % half;
  let cs = rope_cs(p.tab_off, pos, i, half);
  let x1 = q[head + i];
  let x2 = q[head + i + half];
  return select(x2 * cs.x + x1 * cs.y, x1 * cs.x - x2 * cs.y, d < half);
}
