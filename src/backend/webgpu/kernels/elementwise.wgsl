// Elementwise f32 ops. Entry `add`: out = alpha * a + beta * b. Entry `scale`: out = alpha * a.
// Bindings: 0 params {oo, ao, bo, n, alpha, beta}; 1 out (read_write); 2 a; 3 b (add only).
// One thread per element, 256 threads per workgroup, 1-D/2-D grid via linear_wg.

struct Params {
  oo: u32,
  ao: u32,
  bo: u32,
  n: u32,
  alpha: f32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;

@compute @workgroup_size(256)
fn add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
       @builtin(local_invocation_index) lid: u32) {
  let i = linear_wg(wid, nwg) * 256u + lid;
  if (i < p.n) {
    out[p.oo + i] = p.alpha * a[p.ao + i] + p.beta * b[p.bo + i];
  }
}

@compute @workgroup_size(256)
fn scale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
         @builtin(local_invocation_index) lid: u32) {
  let i = linear_wg(wid, nwg) * 256u + lid;
  if (i < p.n) {
    out[p.oo + i] = p.alpha * a[p.ao + i];
  }
}
