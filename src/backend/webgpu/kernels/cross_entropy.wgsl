// Cross entropy over rows of logits (N, V), f32, targets (N) i32 (-1 = ignored row).
// One workgroup (256 threads) per row (linear_wg); each thread keeps an online (max, sum of exp)
// over its strided columns, then the workgroup merges the pairs: lse = max + log(sum).
// Entry `forward`: losses[r] = lse - logits[r, t] (0 if t < 0; NaN if t >= V).
// Entry `backward`: dLogits[r, j] = scale * (exp(logits[r, j] - lse) - [j == t]); 0 if t < 0.
// Bindings: 0 params {o_off, l_off, t_off, n, v, scale}; 1 losses | dLogits (rw); 2 logits;
// 3 targets (i32).

struct Params {
  o_off: u32,
  l_off: u32,
  t_off: u32,
  n: u32,
  v: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<i32>;

var<workgroup> rm: array<f32, 256>;
var<workgroup> rs: array<f32, 256>;

const NEG_INF: f32 = -3.4028234663852886e38;

// logsumexp of row r (all threads of the workgroup call it).
fn row_lse(r: u32, lid: u32) -> f32 {
  let base = p.l_off + r * p.v;
  var m = NEG_INF;
  var s = 0.0;
  for (var j = lid; j < p.v; j += 256u) {
    let x = logits[base + j];
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  rm[lid] = m;
  rs[lid] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid < k) {
      let m1 = rm[lid];
      let m2 = rm[lid + k];
      let mx = max(m1, m2);
      rs[lid] = rs[lid] * exp(m1 - mx) + rs[lid + k] * exp(m2 - mx);
      rm[lid] = mx;
    }
    workgroupBarrier();
  }
  let lse = rm[0] + log(rs[0]);
  workgroupBarrier();
  return lse;
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let r = linear_wg(wid, nwg);
  if (r >= p.n) {
    return;
  }
  let lse = row_lse(r, lid);
  if (lid == 0u) {
    let t = targets[p.t_off + r];
    if (t < 0) {
      out[p.o_off + r] = 0.0;
    } else if (u32(t) >= p.v) {
      out[p.o_off + r] = runtime_nan(p.n);
    } else {
      out[p.o_off + r] = lse - logits[p.l_off + r * p.v + u32(t)];
    }
  }
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let r = linear_wg(wid, nwg);
  if (r >= p.n) {
    return;
  }
  let lse = row_lse(r, lid);
  let t = targets[p.t_off + r];
  let base = p.l_off + r * p.v;
  let o = p.o_off + r * p.v;
  for (var j = lid; j < p.v; j += 256u) {
    if (t < 0) {
      out[o + j] = 0.0;
    } else {
      let hot = select(0.0, 1.0, i32(j) == t);
      out[o + j] = p.scale * (exp(logits[base + j] - lse) - hot);
    }
  }
}
