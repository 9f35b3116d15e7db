// Groups token positions by id on the GPU (kernels/embedding_sort.wgsl + ops/scan.ts): a stable
// counting sort with no atomics, giving CSR runs (positions of id v, increasing) for a per-id
// gather. Cost at N tokens, V ids: O(N * 512) in-block comparisons, O(V * ceil(N / 512)) counts.
import { type Tensor, view } from "../../tensor.js";
import { kernel } from "../kernel-source.js";
import { packParams, type Runtime } from "../runtime.js";
import { encodeExclusiveScan } from "./scan.js";
import { encodeFill } from "./elementwise.js";

/** Tokens per rank workgroup (BLK in embedding_sort.wgsl). */
const BLK = 512;

export interface IdGroups {
  /** (N) i32: positions grouped by id, increasing within an id (only valid ids; tail unused). */
  sorted: Tensor;
  /** (V * nb + 1) i32: id v's positions are sorted[base[v * nb] .. base[(v + 1) * nb]). */
  base: Tensor;
  /** Blocks of BLK tokens (the stride of `base`). */
  nb: number;
}

/** Scratch-backed grouping of ids (N) i32 over [0, v); ids outside it are dropped. */
export function encodeGroupIds(rt: Runtime, ids: Tensor, n: number, v: number): IdGroups {
  const nb = Math.ceil(n / BLK);
  const m = v * nb + 1;
  const hist = rt.scratch(m, "i32", "id counts");
  const rank = rt.scratch(n, "i32", "id ranks");
  const sorted = rt.scratch(n, "i32", "ids grouped");
  const k = kernel("embedding_sort");
  const params = packParams([0, 0, 0, 0, n, v, nb]);
  encodeFill(rt, hist, 0);
  rt.dispatch({
    ...k,
    entry: "rank",
    bindings: [rank, hist, ids],
    params,
    offsetWords: [0, 1, 2],
    workgroups: nb,
  });
  encodeExclusiveScan(rt, hist, m);
  rt.dispatch({
    ...k,
    entry: "scatter",
    bindings: [sorted, hist, ids, rank],
    params,
    offsetWords: [0, 1, 2, 3],
    workgroups: Math.ceil(n / 256),
  });
  return { sorted: view(sorted.buffer, [n]), base: view(hist.buffer, [m]), nb };
}
