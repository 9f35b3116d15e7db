// Exclusive prefix sum of non-negative i32 counts, in place (integer: exact, order-free).
// Entry `scan_chunk`: one workgroup (256 threads) per chunk of CHUNK = 2048 elements: data[chunk]
//   becomes its in-chunk exclusive scan; sums[s_off + chunk] = the chunk's total.
// Entry `scan_add`: data[i] += sums[s_off + chunk of i] (sums already scanned), chunks > 0.
// ../ops/scan.ts recurses over `sums` when there is more than one chunk.
// Bindings: 0 params {d_off, s_off, m}; 1 data (rw); 2 sums (rw). Workgroup memory: 9 KiB.

const PER: u32 = 8u;
const CHUNK: u32 = 2048u;

struct Params {
  d_off: u32,
  s_off: u32,
  m: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> data: array<i32>;
@group(0) @binding(2) var<storage, read_write> sums: array<i32>;

var<workgroup> s: array<i32, 2048>;
var<workgroup> t: array<i32, 256>;

@compute @workgroup_size(256)
fn scan_chunk(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let chunk = linear_wg(wid, nwg);
  let c0 = chunk * CHUNK;
  if (c0 >= p.m) {
    return;
  }
  for (var k = 0u; k < PER; k++) {
    let i = k * 256u + lid;
    var x = 0;
    if (c0 + i < p.m) {
      x = data[p.d_off + c0 + i];
    }
    s[i] = x;
  }
  workgroupBarrier();
  var run = 0;
  for (var k = 0u; k < PER; k++) {
    run += s[lid * PER + k];
  }
  t[lid] = run;
  workgroupBarrier();
  // Hillis-Steele inclusive scan of the 256 thread totals.
  for (var off = 1u; off < 256u; off <<= 1u) {
    var add = 0;
    if (lid >= off) {
      add = t[lid - off];
    }
    workgroupBarrier();
    t[lid] += add;
    workgroupBarrier();
  }
  var e = t[lid] - run;
  for (var k = 0u; k < PER; k++) {
    let x = s[lid * PER + k];
    s[lid * PER + k] = e;
    e += x;
  }
  workgroupBarrier();
  for (var k = 0u; k < PER; k++) {
    let i = k * 256u + lid;
    if (c0 + i < p.m) {
      data[p.d_off + c0 + i] = s[i];
    }
  }
  if (lid == 255u) {
    sums[p.s_off + chunk] = t[255];
  }
}

@compute @workgroup_size(256)
fn scan_add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let chunk = linear_wg(wid, nwg);
  let c0 = chunk * CHUNK;
  if (chunk == 0u || c0 >= p.m) {
    return;
  }
  let add = sums[p.s_off + chunk];
  for (var k = 0u; k < PER; k++) {
    let i = c0 + k * 256u + lid;
    if (i < p.m) {
      data[p.d_off + i] += add;
    }
  }
}
