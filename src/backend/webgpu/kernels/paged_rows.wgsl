// Not a kernel: the parameters, shared bindings and row bookkeeping appended to the pagedAttention
// partials kernels (paged_attention.wgsl, paged_attention_vec.wgsl, paged_attention_mma.wgsl):
// Params, the shared bindings, row_info, split_of, partials_base, write_empty_partials.

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

// The partials workgroup's split, as row_info gives it (read by one thread, shared).
var<workgroup> split_info: vec4u;

struct Split {
  row: u32, // query row
  kvh: u32, // K/V head
  sp: u32, // key split
  seq: u32, // the row's sequence
  k0: u32, // the split's keys [k0, k1)
  k1: u32,
  pos: u32, // the row's position
}

// Partials workgroup w's split (w < n * hkv * n_split). Call from uniform control flow.
fn split_of(w: u32, lid: u32) -> Split {
  let rest = w / p.n_split;
  let row = rest / p.hkv;
  let sp = w % p.n_split;
  if (lid == 0u) {
    split_info = row_info(row, sp);
  }
  let inf = workgroupUniformLoad(&split_info);
  return Split(row, rest % p.hkv, sp, inf.x, inf.y, inf.z, inf.w);
}

// First element of the partials (m, l, acc[hd]) of head `head` for split s; the next head's are
// n_split * (hd + 2) further on.
fn partials_base(s: Split, head: u32, hd: u32) -> u32 {
  return p.part_off + ((s.row * p.h + head) * p.n_split + s.sp) * (hd + 2u);
}

// The empty partials (m = -1e30, l = 0, acc = 0) of `heads` heads of head dim hd from p_base (a
// split past its row's keys), written by thread lid of nt.
fn write_empty_partials(p_base: u32, heads: u32, hd: u32, lid: u32, nt: u32) {
  let stride = hd + 2u;
  for (var e = lid; e < heads * stride; e += nt) {
    let g = e / stride;
    let c = e - g * stride;
    part[p_base + g * p.n_split * stride + c] = select(0.0, -1e30, c == 0u);
  }
}
