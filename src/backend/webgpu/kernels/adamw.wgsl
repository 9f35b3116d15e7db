// One AdamW step (decoupled weight decay, PyTorch semantics), f32, one thread per FV element
// (lanes_*.wgsl: f32 or vec4<f32>; n and offsets in FV units are elements / LANES), linear_wg:
// g = grad * gradScale * clip, m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
// p -= lr * (wd * p + (m / bc1) / (sqrt(v / bc2) + eps)); bc1/bc2 = 1 - beta^step (host, f64).
// clip = min(1, maxNorm / sqrt(sumSq[0])) when has_clip = 1, read on the device (no round trip).
// Bindings: 0 params; 1 param (rw); 2 m (rw); 3 v (rw); 4 grad; 5 sumSq (1) (grad again if unused).
// One pass: reads param, m, v, grad and writes param, m, v: 28 bytes per element (840 MB at 30M).

struct Params {
  p_off: u32,
  m_off: u32,
  v_off: u32,
  g_off: u32,
  s_off: u32,
  n: u32,
  has_clip: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  wd: f32,
  bc1: f32,
  bc2: f32,
  grad_scale: f32,
  max_norm: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<FV>;
@group(0) @binding(2) var<storage, read_write> mom: array<FV>;
@group(0) @binding(3) var<storage, read_write> vel: array<FV>;
@group(0) @binding(4) var<storage, read> grad: array<FV>;
@group(0) @binding(5) var<storage, read> sumsq: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_wg(wid, nwg) * 256u + lid;
  if (i >= p.n / LANES) {
    return;
  }
  var mul = p.grad_scale;
  if (p.has_clip == 1u) {
    let norm = sqrt(sumsq[p.s_off]);
    if (norm > p.max_norm) {
      mul = mul * (p.max_norm / norm);
    }
  }
  let g = grad[p.g_off / LANES + i] * mul;
  let m = p.beta1 * mom[p.m_off / LANES + i] + (1.0 - p.beta1) * g;
  let v = p.beta2 * vel[p.v_off / LANES + i] + (1.0 - p.beta2) * g * g;
  mom[p.m_off / LANES + i] = m;
  vel[p.v_off / LANES + i] = v;
  let w = param[p.p_off / LANES + i];
  param[p.p_off / LANES + i] = w - p.lr * (p.wd * w + m / p.bc1 / (sqrt(v / p.bc2) + p.eps));
}
