// Embedding lookup and its deterministic backward.
// Entry `forward`: out (N, C) f32 = table (V, C) [ids (N)]; table dtype DT_TABLE (0 f32, 1 f16,
//   2 bf16, packed). One thread per output element; an id outside [0, V) writes NaN.
// Entry `backward`: dTable (V, C) f32 += sum of dOut rows of the tokens of each vocab row, given the
//   tokens grouped by id (embedding_sort.wgsl): `ids` is then `sorted` (positions grouped by id, in
//   increasing position) and base[b_off + v * nb] .. base[b_off + (v + 1) * nb] is row v's run.
//   One workgroup per (64-column tile, vocab row v = linear (y, z)); 4 lanes of 64 threads sum
//   tokens lane, lane + 4, ... of the run in order, then lanes add in a fixed order: bit-identical
//   across runs, no float atomics. Rows with no token return at once. Work: O(N * C).
// Bindings: 0 params; 1 out | dTable (read_write); 2 table | dOut; 3 ids | sorted (i32); 4 base.

override DT_TABLE: u32 = 0u;

struct Params {
  o_off: u32,
  t_off: u32,
  i_off: u32,
  n: u32,
  c: u32,
  v: u32,
  b_off: u32,
  nb: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<u32>;
@group(0) @binding(3) var<storage, read> ids: array<i32>;
@group(0) @binding(4) var<storage, read> base: array<i32>;

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

var<workgroup> red: array<f32, 256>;
var<workgroup> bounds: vec2u;

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let row = wid.y + wid.z * nwg.y;
  if (row >= p.v) {
    return;
  }
  if (lid == 0u) {
    let b0 = u32(base[p.b_off + row * p.nb]);
    bounds = vec2u(b0, u32(base[p.b_off + (row + 1u) * p.nb]));
  }
  let b = workgroupUniformLoad(&bounds);
  if (b.x == b.y) {
    return;
  }
  let lane = lid >> 6u;
  let j = wid.x * 64u + (lid & 63u);
  var acc = 0.0;
  if (j < p.c) {
    for (var i = b.x + lane; i < b.y; i += 4u) {
      let n = u32(ids[p.i_off + i]);
      acc += bitcast<f32>(src[p.t_off + n * p.c + j]);
    }
  }
  red[lid] = acc;
  workgroupBarrier();
  if (lid < 64u && j < p.c) {
    let s = ((red[lid] + red[lid + 64u]) + red[lid + 128u]) + red[lid + 192u];
    out[p.o_off + row * p.c + j] += s;
  }
}
