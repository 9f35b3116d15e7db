// Cross entropy forward/backward on WebGPU (kernels/cross_entropy.wgsl): logits (N, V) f32 (leading
// dims may be split), targets (N) i32 with -1 = ignored row. Targets are not read back: one outside
// [-1, V) gives a NaN loss (forward) so the error is visible without a GPU stall.
import { expectNumel, rowsOf } from "../../cpu/validate.js";
import type { Tensor } from "../../tensor.js";
import { expectDType, expectShape } from "../../tensor.js";
import { kernel } from "../kernel-source.js";
import { f32, packParams, type Runtime } from "../runtime.js";

export function encodeCrossEntropy(rt: Runtime, losses: Tensor, logits: Tensor, targets: Tensor): void {
  expectDType("crossEntropy logits", logits, "f32");
  expectDType("crossEntropy losses", losses, "f32");
  expectDType("crossEntropy targets", targets, "i32");
  const { n, c: v } = rowsOf("crossEntropy logits", logits);
  expectNumel("crossEntropy losses", losses, n, " (one per row of logits)");
  expectNumel("crossEntropy targets", targets, n, " (one per row of logits)");
  if (n === 0) return;
  rt.dispatch({
    ...kernel("cross_entropy"),
    entry: "forward",
    bindings: [losses, logits, targets],
    params: packParams([0, 0, 0, n, v, f32(1)]),
    offsetWords: [0, 1, 2],
    workgroups: n,
  });
}

export function encodeCrossEntropyBackward(
  rt: Runtime,
  io: { dLogits: Tensor; logits: Tensor; targets: Tensor },
  scale: number,
): void {
  const { dLogits, logits, targets } = io;
  expectDType("crossEntropyBackward logits", logits, "f32");
  expectDType("crossEntropyBackward dLogits", dLogits, "f32");
  expectDType("crossEntropyBackward targets", targets, "i32");
  const { n, c: v } = rowsOf("crossEntropyBackward logits", logits);
  expectShape("crossEntropyBackward dLogits", dLogits, logits.shape);
  expectNumel("crossEntropyBackward targets", targets, n, " (one per row of logits)");
  if (n === 0) return;
  rt.dispatch({
    ...kernel("cross_entropy"),
    entry: "backward",
    bindings: [dLogits, logits, targets],
    params: packParams([0, 0, 0, n, v, f32(scale)]),
    offsetWords: [0, 1, 2],
    workgroups: n,
  });
}
