// The engine step's K/V append, fused: rope(k) and v of the step's N rows scattered into their
// producer's K and V pools in one dispatch (replaces rope + kvWrite(K) + kvWrite(V); the same
// rounding as paged_kv_write.wgsl, the same rope as rope.wgsl via paged_rope.wgsl).
// One thread per (row, K/V head, 2-element pair j < D/4): elements 2j, 2j+1 and their rope
// partners 2j + D/2, 2j + 1 + D/2. D % 4 == 0 and pool offsets even (host checks), so every
// 16-bit word is written whole by one thread: plain stores, no atomics. Slot -1 / out of range: skip.
// Bindings: 0 params; 1 kpool u32 (rw); 2 vpool u32 (rw); 3 k f32 (before rope); 4 v f32;
//   5 slots i32; 6 positions i32; 7 tab f32 (rope table). Constant DT_POOL (0 f32, 1 f16, 2 bf16).
// Appended at dispatch: paged_rope.wgsl (rope_cs), paged_pool_store.wgsl (store2).

override DT_POOL: u32 = 0u;

struct Params {
  kp_off: u32,
  vp_off: u32,
  k_off: u32,
  v_off: u32,
  s_off: u32,
  p_off: u32,
  t_off: u32,
  n: u32,
  hkv: u32,
  d: u32,
  n_slots: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> kpool: array<u32>;
@group(0) @binding(2) var<storage, read_write> vpool: array<u32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> slots: array<i32>;
@group(0) @binding(6) var<storage, read> positions: array<i32>;
@group(0) @binding(7) var<storage, read> tab: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let q4 = p.d / 4u;
  let t = linear_wg(wid, nwg) * 256u + lid;
  if (t >= p.n * p.hkv * q4) {
    return;
  }
  let j = t % q4;
  let rh = t / q4;
  let r = rh / p.hkv;
  let slot = slots[p.s_off + r];
  if (slot < 0 || u32(slot) >= p.n_slots) {
    return;
  }
  let half = p.d / 2u;
  let i = 2u * j;
  let pos = u32(positions[p.p_off + r]);
  let src = rh * p.d + i;
  var lo: vec2f;
  var hi: vec2f;
  for (var c = 0u; c < 2u; c++) {
    let cs = rope_cs(p.t_off, pos, i + c, half);
    let x1 = k[p.k_off + src + c];
    let x2 = k[p.k_off + src + c + half];
    lo[c] = x1 * cs.x - x2 * cs.y;
    hi[c] = x2 * cs.x + x1 * cs.y;
  }
  // pool rows (slots, Hkv, D): element of (slot, head rh % hkv, i)
  let dst = u32(slot) * p.hkv * p.d + (rh % p.hkv) * p.d + i;
  store2(false, p.kp_off + dst, lo.x, lo.y);
  store2(false, p.kp_off + dst + half, hi.x, hi.y);
  store2(true, p.vp_off + dst, v[p.v_off + src], v[p.v_off + src + 1u]);
  store2(true, p.vp_off + dst + half, v[p.v_off + src + half], v[p.v_off + src + half + 1u]);
}
