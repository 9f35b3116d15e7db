// kvWrite: scatter N rows of src (N, Hkv*D) f32 into a paged pool viewed as (slots, Hkv*D) rows:
// pool[slots[n]] = src[n], rounded to DT_POOL (0 f32, 1 f16, 2 bf16; 16-bit packed two per word).
// Slot -1 (padding) and slots >= n_slots are skipped. One thread per source element; 16-bit
// halves are replaced with atomicAnd + atomicOr, so neighbours of another row may share a word.
// Bindings: 0 params; 1 pool: array<atomic<u32>> (read_write); 2 src: array<f32>; 3 slots: i32.

override DT_POOL: u32 = 0u;

struct Params {
  p_off: u32,
  s_off: u32,
  i_off: u32,
  n: u32,
  row: u32,
  n_slots: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> pool: array<atomic<u32>>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> slots: array<i32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_wg(wid, nwg) * 256u + lid;
  if (e >= p.n * p.row) {
    return;
  }
  let r = e / p.row;
  let j = e - r * p.row;
  let slot = slots[p.i_off + r];
  if (slot < 0 || u32(slot) >= p.n_slots) {
    return;
  }
  let x = src[p.s_off + e];
  let i = p.p_off + u32(slot) * p.row + j;
  if (DT_POOL == 0u) {
    atomicStore(&pool[i], bitcast<u32>(x));
    return;
  }
  let sh = (i & 1u) * 16u;
  atomicAnd(&pool[i >> 1u], ~(0xffffu << sh));
  atomicOr(&pool[i >> 1u], encode_half(x, DT_POOL) << sh);
}
