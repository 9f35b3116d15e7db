// Not a kernel: the row bookkeeping appended to the pagedAttention partials kernels
// (paged_attention.wgsl, paged_attention_vec.wgsl), which declare `p` (b, qs_off, s_off, causal,
// n_split, keys_per_split), `q_starts` and `seq_lens`.

// For query row `row` and key split `sp`: x the row's sequence (the largest b with
// q_starts[b] <= row, so empty sequences are skipped), y..z the split's keys [y, z), w the row's
// position. The keys the row sees (its causal limit) are divided evenly over the n_split splits in
// multiples of `keys_per_split` (the split granularity), so a row shorter than the block tables are
// wide (tables padded for stable shapes) still spreads over all its workgroups; splits past its
// keys are empty (y == z).
fn row_info(row: u32, sp: u32) -> vec4u {
  var lo = 0u;
  var hi = p.b;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (u32(q_starts[p.qs_off + mid]) <= row) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  let s_len = u32(seq_lens[p.s_off + lo]);
  let q0 = u32(q_starts[p.qs_off + lo]);
  let q_len = u32(q_starts[p.qs_off + lo + 1u]) - q0;
  var seen = s_len;
  if (p.causal != 0u) {
    seen = s_len - q_len + (row - q0) + 1u;
  }
  let g = max(1u, p.keys_per_split);
  let per = ((seen + p.n_split - 1u) / p.n_split + g - 1u) / g * g;
  let start = min(seen, sp * per);
  return vec4u(lo, start, min(seen, start + per), s_len - q_len + (row - q0));
}
