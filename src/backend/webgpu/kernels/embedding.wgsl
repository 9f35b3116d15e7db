// Embedding lookup and its deterministic backward.
// Entry `forward`: out (N, C) f32 = table (V, C) [ids (N)]; table dtype DT_TABLE (0 f32, 1 f16,
//   2 bf16, packed). One thread per output element; an id outside [0, V) writes NaN.
// Entry `backward`: dTable (V, C) f32 += sum over n with ids[n] == v of dOut[n, :], summed in
//   increasing n (deterministic, no float atomics). One workgroup per (vocab row v, 256-column
//   chunk): workgroup_id.x = column chunk, linear id over (y, z) = v. ids are staged through
//   workgroup memory 256 at a time. Workgroups whose row appears in no id return early.
// Bindings: 0 params; 1 out | dTable (read_write); 2 table | dOut; 3 ids (i32).

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

var<workgroup> tile: array<i32, 256>;
var<workgroup> any_hit: u32;

@compute @workgroup_size(256)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let row = wid.y + wid.z * nwg.y;
  let j = wid.x * 256u + lid;
  if (lid == 0u) {
    any_hit = 0u;
  }
  workgroupBarrier();
  // Does this vocab row occur at all? (uniform early exit)
  for (var n = lid; n < p.n; n += 256u) {
    if (ids[p.i_off + n] == i32(row)) {
      any_hit = 1u;
    }
  }
  let hit = workgroupUniformLoad(&any_hit);
  if (hit == 0u || row >= p.v) {
    return;
  }
  var acc = 0.0;
  for (var n0 = 0u; n0 < p.n; n0 += 256u) {
    workgroupBarrier();
    if (n0 + lid < p.n) {
      tile[lid] = ids[p.i_off + n0 + lid];
    }
    workgroupBarrier();
    let cnt = min(256u, p.n - n0);
    for (var k = 0u; k < cnt; k++) {
      if (tile[k] == i32(row) && j < p.c) {
        acc += bitcast<f32>(src[p.t_off + (n0 + k) * p.c + j]);
      }
    }
  }
  if (j < p.c) {
    out[p.o_off + row * p.c + j] += acc;
  }
}
