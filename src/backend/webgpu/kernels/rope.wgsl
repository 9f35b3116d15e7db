// Rotary embedding (HF Llama rotate_half): pairs (i, i + D/2) of each head rotated by
// angle = pos * base^(-2i/D); inverse = 1 rotates by -angle (the backward pass). out may alias x.
// The angle is never formed in f32: pos = a * 65536 + b * 256 + c (0 <= pos < 2^24) and the host
// supplies cos/sin of c * f, b * 256 * f and a * 65536 * f (computed in f64), composed here by the
// angle-addition formula: accurate to a few f32 ulps at any position.
// One thread per (row, head, i < D/2), 256 per workgroup, linear_wg grid.
// Bindings: 0 params {o_off, x_off, p_off, t_off, n, heads, d, inverse}; 1 out (rw); 2 x;
// 3 positions (i32); 4 table (f32, [3][256][D/2][cos, sin]).

struct Params {
  o_off: u32,
  x_off: u32,
  p_off: u32,
  t_off: u32,
  n: u32,
  heads: u32,
  d: u32,
  inverse: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<i32>;
@group(0) @binding(4) var<storage, read> tab: array<f32>;

fn cs_of(level: u32, idx: u32, i: u32, half: u32) -> vec2f {
  let o = p.t_off + ((level * 256u + idx) * half + i) * 2u;
  return vec2f(tab[o], tab[o + 1u]);
}

// (cos, sin) of a + b from (cos, sin) of a and of b.
fn compose(a: vec2f, b: vec2f) -> vec2f {
  return vec2f(a.x * b.x - a.y * b.y, a.y * b.x + a.x * b.y);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let half = p.d / 2u;
  let t = linear_wg(wid, nwg) * 256u + lid;
  if (t >= p.n * p.heads * half) {
    return;
  }
  let i = t % half;
  let rh = t / half;
  let r = rh / p.heads;
  let ps = u32(pos[p.p_off + r]) & 0xffffffu;
  let cs = compose(compose(cs_of(2u, ps >> 16u, i, half), cs_of(1u, (ps >> 8u) & 255u, i, half)),
                   cs_of(0u, ps & 255u, i, half));
  let sn = select(cs.y, -cs.y, p.inverse == 1u);
  let base = rh * p.d + i;
  let x1 = x[p.x_off + base];
  let x2 = x[p.x_off + base + half];
  out[p.o_off + base] = x1 * cs.x - x2 * sn;
  out[p.o_off + base + half] = x2 * cs.x + x1 * sn;
}
