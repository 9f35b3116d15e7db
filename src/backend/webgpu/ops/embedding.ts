// Embedding lookup (table f32/f16/bf16) and its deterministic scatter-add backward on WebGPU
// (kernels/embedding.wgsl). Backward: group positions by id (./group-ids.ts), then one workgroup per
// (vocab row, column tile) sums its tokens' dOut rows in position order (embedding_backward.wgsl,
// vec4 when aligned): O(N * C), no float atomics. At N 16384, C 512, V 8192 it moves ~ dOut 32 MB
// + touched dTable rows (<= 2 x 16 MB) + ~2 MB of counts, in 7 dispatches. Ids are not read back for validation (that would stall the GPU): an id
// outside [0, V) yields NaN rows in the forward pass and is ignored by the backward pass.
import { embeddingBackwardDims, embeddingDims } from "../../op-shapes.js";
import type { Tensor } from "../../tensor.js";
import { dtypeCode, kernel, lanesFor } from "../kernel-source.js";
import { packParams, type Runtime } from "../runtime.js";
import { encodeGroupIds } from "./group-ids.js";

export function encodeEmbedding(rt: Runtime, out: Tensor, table: Tensor, ids: Tensor): void {
  const { n, v, c } = embeddingDims(out, table, ids);
  if (n * c === 0) return;
  rt.dispatch({
    ...kernel("embedding"),
    entry: "forward",
    constants: { DT_TABLE: dtypeCode(table.dtype) },
    bindings: [out, table, ids],
    params: packParams([0, 0, 0, n, c, v]),
    offsetWords: [0, 1, 2],
    workgroups: Math.ceil((n * c) / 256),
  });
}

export function encodeEmbeddingBackward(rt: Runtime, dTable: Tensor, dOut: Tensor, ids: Tensor): void {
  const { n, v, c } = embeddingBackwardDims(dTable, dOut, ids);
  if (n * c * v === 0) return;
  const g = encodeGroupIds(rt, ids, n, v);
  const max = rt.limits.maxComputeWorkgroupsPerDimension ?? 65535;
  const y = Math.min(v, max);
  const lanes = lanesFor(c, dTable, dOut);
  rt.dispatch({
    ...kernel("embedding_backward", lanes),
    bindings: [dTable, dOut, g.sorted, g.base],
    params: packParams([0, 0, 0, 0, c, v, g.nb]),
    offsetWords: [0, 1, 2, 3],
    workgroups: [Math.ceil(c / lanes / 64), y, Math.ceil(v / y)],
  });
}
