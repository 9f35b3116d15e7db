// Embedding lookup: out (N, C) f32 = table (V, C) [ids (N)]; table dtype DT_TABLE (0 f32, 1 f16,
// 2 bf16, packed). One thread per output element; an id outside [0, V) writes NaN.
// (The backward is embedding_sort.wgsl + embedding_backward.wgsl.)
// Bindings: 0 params {o_off, t_off, i_off, n, c, v}; 1 out (rw); 2 table; 3 ids (i32).

override DT_TABLE: u32 = 0u;

struct Params {
  o_off: u32,
  t_off: u32,
  i_off: u32,
  n: u32,
  c: u32,
  v: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
@group(0) @binding(3) var<storage, read> ids: array<i32>;

@compute @workgroup_size(256)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let e = linear_wg(wid, nwg) * 256u + lid;
  if (e >= p.n * p.c) {
    return;
  }
  let r = e / p.c;
  let j = e - r * p.c;
  let id = ids[p.i_off + r];
  if (id < 0 || u32(id) >= p.v) {
    out[p.o_off + e] = runtime_nan(p.n);
    return;
  }
  let i = p.t_off + u32(id) * p.c + j;
  out[p.o_off + e] = decode_elem(src[word_of(i, DT_TABLE)], i, DT_TABLE);
}
