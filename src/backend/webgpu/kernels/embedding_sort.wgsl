// Stable counting sort of token positions by id (the grouping step of embeddingBackward), with no
// atomics: tokens are split into blocks of BLK = 512 (nb = ceil(N / BLK) blocks).
// Entry `rank`: one workgroup per block; ids staged in workgroup memory (2 KiB), 2 tokens per thread. For each token n
//   with a valid id: rank[n] = #earlier tokens of its block with the same id; the block's last
//   token of each id writes hist[id * nb + blk] = its count (hist zeroed first, V * nb + 1 long).
//   Bindings: 1 rank (rw), 2 hist (rw), 3 ids.
// (an exclusive scan of hist then gives base[id * nb + blk] = first sorted slot of (id, blk), and
//  base[id * nb] .. base[(id + 1) * nb] the id's run; base[V * nb] = valid tokens.)
// Entry `scatter`: thread per token: sorted[base[id * nb + n / BLK] + rank[n]] = n, so each id's run
//   lists its tokens in increasing position. Bindings: 1 sorted (rw), 2 base (hist), 3 ids, 4 rank.
// Ids outside [0, V) are skipped. Params {o_off, h_off, i_off, r_off, n, v, nb}.

const BLK: u32 = 512u;
const PER: u32 = 2u;

struct Params {
  o_off: u32,
  h_off: u32,
  i_off: u32,
  r_off: u32,
  n: u32,
  v: u32,
  nb: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
@group(0) @binding(2) var<storage, read_write> hist: array<i32>;
@group(0) @binding(3) var<storage, read> ids: array<i32>;
@group(0) @binding(4) var<storage, read> rank_in: array<i32>;

var<workgroup> tile: array<i32, 512>;

fn valid_id(n: u32) -> i32 {
  let x = ids[p.i_off + n];
  return select(-1, x, x >= 0 && u32(x) < p.v);
}

@compute @workgroup_size(256)
fn rank(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let blk = linear_wg(wid, nwg);
  let n0 = blk * BLK;
  if (n0 >= p.n) {
    return;
  }
  let cnt = min(BLK, p.n - n0);
  var mine: array<i32, PER>;
  var before: array<u32, PER>;
  var later: array<bool, PER>;
  for (var k = 0u; k < PER; k++) {
    let j = lid + k * 256u;
    var id = -1;
    if (j < cnt) {
      id = valid_id(n0 + j);
    }
    tile[j] = id;
    mine[k] = id;
    before[k] = 0u;
    later[k] = false;
  }
  workgroupBarrier();
  for (var i = 0u; i < cnt; i++) {
    let t = tile[i];
    for (var k = 0u; k < PER; k++) {
      if (t == mine[k]) {
        let j = lid + k * 256u;
        if (i < j) {
          before[k] += 1u;
        } else if (i > j) {
          later[k] = true;
        }
      }
    }
  }
  for (var k = 0u; k < PER; k++) {
    let j = lid + k * 256u;
    if (j < cnt && mine[k] >= 0) {
      out[p.o_off + n0 + j] = i32(before[k]);
      if (!later[k]) {
        hist[p.h_off + u32(mine[k]) * p.nb + blk] = i32(before[k] + 1u);
      }
    }
  }
}

@compute @workgroup_size(256)
fn scatter(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let n = linear_wg(wid, nwg) * 256u + lid;
  if (n >= p.n) {
    return;
  }
  let id = valid_id(n);
  if (id < 0) {
    return;
  }
  let slot = hist[p.h_off + u32(id) * p.nb + n / BLK] + rank_in[p.r_off + n];
  out[p.o_off + u32(slot)] = i32(n);
}
