// SwiGLU, f32. gu (N, 2F) = [gate | up]. Thread per (row, j < F), 256 per workgroup, linear_wg grid.
// Entry `forward`: out (N, F) = silu(gate) * up. Bindings: 1 out (rw), 2 gu.
// Entry `backward`: dGu[gate] = dy * up * s * (1 + g * (1 - s)), dGu[up] = dy * g * s with
//   s = sigmoid(g). Bindings: 1 dGu (rw), 2 gu, 3 dOut.
// Params {o_off, g_off, d_off, n, f}.

struct Params {
  o_off: u32,
  g_off: u32,
  d_off: u32,
  n: u32,
  f: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> gu: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;

fn sigmoid(g: f32) -> f32 {
  return 1.0 / (1.0 + exp(-g));
}

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let t = linear_wg(wid, nwg) * 256u + lid;
  if (t >= p.n * p.f) {
    return;
  }
  let r = t / p.f;
  let j = t - r * p.f;
  let g0 = p.g_off + r * 2u * p.f;
  let g = gu[g0 + j];
  out[p.o_off + t] = g * sigmoid(g) * gu[g0 + p.f + j];
}

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let t = linear_wg(wid, nwg) * 256u + lid;
  if (t >= p.n * p.f) {
    return;
  }
  let r = t / p.f;
  let j = t - r * p.f;
  let g0 = p.g_off + r * 2u * p.f;
  let g = gu[g0 + j];
  let u = gu[g0 + p.f + j];
  let dy = dout[p.d_off + t];
  let s = sigmoid(g);
  let o0 = p.o_off + r * 2u * p.f;
  out[o0 + j] = dy * u * s * (1.0 + g * (1.0 - s));
  out[o0 + p.f + j] = dy * g * s;
}
