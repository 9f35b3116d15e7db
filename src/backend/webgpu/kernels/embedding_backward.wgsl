// embeddingBackward's gather, with the lanes_*.wgsl helpers (FV = f32 or vec4<f32>: C and the
// offsets of dTable and dOut are LANES-aligned): dTable (V, C) += for each vocab row v, the sum of
// the dOut rows of its tokens, given them grouped by id (embedding_sort.wgsl): sorted[base[v * nb]
// .. base[(v + 1) * nb]) lists v's positions in increasing order.
// One workgroup per (64-FV column tile, vocab row v = linear (y, z)); rows with no token return at
// once. The run's positions are staged 256 at a time in workgroup memory; 4 lanes of 64 threads
// sum entries lane, lane + 4, .. in order (8 loads in flight per thread), then the lanes add in a
// fixed order: bit-identical across runs, no float atomics. Work O(N * C).
// Bindings: 0 params {o_off, g_off, s_off, b_off, c, v, nb}; 1 dTable (rw); 2 dOut; 3 sorted;
// 4 base (i32).

struct Params {
  o_off: u32,
  g_off: u32,
  s_off: u32,
  b_off: u32,
  c: u32,
  v: u32,
  nb: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<FV>;
@group(0) @binding(2) var<storage, read> dout: array<FV>;
@group(0) @binding(3) var<storage, read> sorted: array<i32>;
@group(0) @binding(4) var<storage, read> base: array<i32>;

var<workgroup> pos: array<u32, 256>;
var<workgroup> red: array<FV, 256>;
var<workgroup> bounds: vec2u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
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
  let cw = p.c / LANES;
  let lane = lid >> 6u;
  let j = wid.x * 64u + (lid & 63u);
  let g0 = p.g_off / LANES + min(j, cw - 1u); // clamped: loads stay in bounds, result unused
  var acc = FV(0.0);
  for (var c0 = b.x; c0 < b.y; c0 += 256u) {
    let cnt = min(256u, b.y - c0);
    workgroupBarrier();
    if (lid < cnt) {
      pos[lid] = u32(sorted[p.s_off + c0 + lid]) * cw;
    }
    workgroupBarrier();
    var i = lane;
    for (; i + 28u < cnt; i += 32u) {
      let x0 = dout[g0 + pos[i]];
      let x1 = dout[g0 + pos[i + 4u]];
      let x2 = dout[g0 + pos[i + 8u]];
      let x3 = dout[g0 + pos[i + 12u]];
      let x4 = dout[g0 + pos[i + 16u]];
      let x5 = dout[g0 + pos[i + 20u]];
      let x6 = dout[g0 + pos[i + 24u]];
      let x7 = dout[g0 + pos[i + 28u]];
      acc += x0;
      acc += x1;
      acc += x2;
      acc += x3;
      acc += x4;
      acc += x5;
      acc += x6;
      acc += x7;
    }
    for (; i < cnt; i += 4u) {
      acc += dout[g0 + pos[i]];
    }
  }
  red[lid] = acc;
  workgroupBarrier();
  if (lid < 64u && j < cw) {
    let o = p.o_off / LANES + row * cw + j;
    out[o] += ((red[lid] + red[lid + 64u]) + red[lid + 128u]) + red[lid + 192u];
  }
}
