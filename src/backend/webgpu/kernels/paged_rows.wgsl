// Not a kernel: the parameters, shared bindings and row bookkeeping appended to the pagedAttention
// partials kernels (paged_attention.wgsl, paged_attention_vec.wgsl).

// The partials kernels' parameters and shared bindings (the pools' bindings 3 and 4 are the
// kernels' own: u32 words or vec4<u32>). tab_off: the rope table (paged_attention_vec.wgsl).
struct Params {
  part_off: u32,
  q_off: u32,
  k_off: u32,
  v_off: u32,
  t_off: u32,
  s_off: u32,
  qs_off: u32,
  n: u32,
  h: u32,
  hkv: u32,
  bs: u32,
  mb: u32,
  b: u32,
  n_split: u32,
  keys_per_split: u32,
  scale: f32,
  causal: u32,
  tab_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> part: array<f32>;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(5) var<storage, read> tables: array<i32>;
@group(0) @binding(6) var<storage, read> seq_lens: array<i32>;
@group(0) @binding(7) var<storage, read> q_starts: array<i32>;

// For query row `row` and key split `sp`: x the row's sequence (the largest b with
// q_starts[b] <= row, so empty sequences are skipped), y..z the split's keys [y, z), w the row's
// position. The keys the row sees (its causal limit) are divided evenly over the n_split splits in
// multiples of `keys_per_split` (the split granularity), so a row shorter than the block tables are
// wide (tables padded for stable shapes) still spreads over all its workgroups; splits past its
// keys are empty (y == z).
fn row_info(row: u32, sp: u32) -> vec4u {
  var lo = 0u;
  var hi = p.b;
  // a decode step (one query row per sequence) finds the row's sequence at once, without the
  // search's chain of dependent loads
  let guess = min(row, p.b - 1u);
  if (u32(q_starts[p.qs_off + guess]) <= row && row < u32(q_starts[p.qs_off + guess + 1u])) {
    lo = guess;
    hi = guess + 1u;
  }
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
