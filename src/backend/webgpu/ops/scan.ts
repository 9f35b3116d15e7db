// Exclusive prefix sum of non-negative i32 counts on WebGPU (kernels/scan.wgsl), in place: a chunk
// scan of 2048 elements per workgroup, a recursive scan of the chunk totals, then an add pass.
// Dispatches: 1 for m <= 2048, 3 for m <= 2048^2, 5 beyond. Integer sums: exact and deterministic.
import { type Tensor, view } from "../../tensor.js";
import { kernel } from "../kernel-source.js";
import { packParams, type Runtime } from "../runtime.js";

/** Elements per scan workgroup (CHUNK in scan.wgsl). */
export const SCAN_CHUNK = 2048;

/** data[0 .. m) (an i32 view of at least m elements) becomes its exclusive prefix sum. */
export function encodeExclusiveScan(rt: Runtime, data: Tensor, m: number): void {
  if (m === 0) return;
  const k = kernel("scan");
  const chunks = Math.ceil(m / SCAN_CHUNK);
  const sums = rt.scratch(chunks, "i32", "scan sums");
  const target = view(data.buffer, [m], data.offset);
  const params = packParams([0, 0, m]);
  rt.dispatch({
    ...k,
    entry: "scan_chunk",
    bindings: [target, sums],
    params,
    offsetWords: [0, 1],
    workgroups: chunks,
  });
  if (chunks === 1) return;
  encodeExclusiveScan(rt, sums, chunks);
  rt.dispatch({
    ...k,
    entry: "scan_add",
    bindings: [target, sums],
    params,
    offsetWords: [0, 1],
    workgroups: chunks,
  });
}
