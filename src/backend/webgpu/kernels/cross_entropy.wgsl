// Cross entropy forward over rows of logits (N, V) f32, targets (N) i32 (-1 = ignored row), with
// the lanes_*.wgsl helpers (FV = f32 or vec4<f32>: V and the logits offset are LANES-aligned).
// One workgroup (256 threads) per row (linear_wg): each thread keeps an online (max, sum of exp)
// over its strided FV elements, then the workgroup merges the pairs: lse = max + log(sum).
// losses[r] = lse - logits[r, t] (0 if t < 0; NaN if t >= V); lse[r] is saved for the backward.
// Reads the logits once: N * V * 4 bytes (537 MB at N 16384, V 8192).
// Bindings: 0 params {l_off, t_off, o_off, s_off, n, v}; 1 logits; 2 targets (i32);
// 3 losses (rw); 4 lse (rw).

struct Params {
  l_off: u32,
  t_off: u32,
  o_off: u32,
  s_off: u32,
  n: u32,
  v: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<FV>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse_out: array<f32>;

var<workgroup> rm: array<f32, 256>;
var<workgroup> rs: array<f32, 256>;

const NEG_INF: f32 = -3.4028234663852886e38;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let r = linear_wg(wid, nwg);
  if (r >= p.n) {
    return;
  }
  let vw = p.v / LANES;
  let base = p.l_off / LANES + r * vw;
  var m = NEG_INF;
  var s = 0.0;
  for (var j = lid; j < vw; j += 256u) {
    let x = logits[base + j];
    let mx = hmax(x);
    if (mx > m) {
      s *= exp(m - mx);
      m = mx;
    }
    s += hsum(exp(x - m));
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
  if (lid == 0u) {
    let lse = rm[0] + log(rs[0]);
    lse_out[p.s_off + r] = lse;
    let t = targets[p.t_off + r];
    if (t < 0) {
      losses[p.o_off + r] = 0.0;
    } else if (u32(t) >= p.v) {
      losses[p.o_off + r] = runtime_nan(p.n);
    } else {
      let e = p.l_off + r * p.v + u32(t);
      losses[p.o_off + r] = lse - lane(logits[e / LANES], e % LANES);
    }
  }
}
