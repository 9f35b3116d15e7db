// The same-dtype cast of 16-byte aligned ranges (ops/elementwise.ts picks it): a plain copy,
// one vec4<u32> (16 bytes) per thread, linear_wg grid. EPV: elements per vec4 (4 for f32, 8 for
// f16/bf16), so the runtime's element offsets convert to vec4 indices.
// Bindings: 0 params {doff, soff, n4}; 1 dst vec4<u32> (read_write); 2 src vec4<u32>.

override EPV: u32 = 4u;

struct Params {
  doff: u32,
  soff: u32,
  n4: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read> src: array<vec4<u32>>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_wg(wid, nwg) * 256u + lid;
  if (t < p.n4) {
    dst[p.doff / EPV + t] = src[p.soff / EPV + t];
  }
}
