// AdamW over the model's flat layout: first and second moments in buffers laid out like the
// parameters, global-norm clipping computed on the device (sumSquares -> clip factor inside the
// update, no host round-trip), decoupled weight decay on matrices only (the layout puts them
// first, so an update is two backend.adamw calls over two contiguous ranges).
import type { Backend } from "../backend/backend.js";
import { type DeviceBuffer, type Tensor, view } from "../backend/tensor.js";
import type { ParamLayout, ParamRange } from "../model/layout.js";

export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Global gradient-norm clip; 0 disables. */
  clipNorm: number;
}

export class AdamW {
  readonly m: DeviceBuffer;
  readonly v: DeviceBuffer;
  private readonly sumSq: DeviceBuffer;

  constructor(
    private readonly backend: Backend,
    private readonly layout: ParamLayout,
    private readonly hyper: AdamWHyper,
  ) {
    this.m = backend.createBuffer(layout.total, "f32", "adam.m");
    this.v = backend.createBuffer(layout.total, "f32", "adam.v");
    this.sumSq = backend.createBuffer(1, "f32", "adam.grad-sumsq");
    backend.fill(view(this.m, [layout.total]), 0);
    backend.fill(view(this.v, [layout.total]), 0);
  }

  /**
   * One update of `params` from `grads` (both laid out by `layout`). `gradScale` multiplies the
   * gradients first (1 / micro-batches under accumulation); clipping sees the scaled norm.
   */
  step(params: Tensor, grads: Tensor, opts: { lr: number; step: number; gradScale?: number }): void {
    const { backend, hyper } = this;
    const gradScale = opts.gradScale ?? 1;
    const clip =
      hyper.clipNorm > 0 ? { sumSq: view(this.sumSq, [1]), maxNorm: hyper.clipNorm / gradScale } : undefined;
    if (clip) backend.sumSquares(clip.sumSq, [grads]);
    const ranges: [ParamRange, number][] = [
      [this.layout.decay, hyper.weightDecay],
      [this.layout.noDecay, 0],
    ];
    for (const [r, weightDecay] of ranges) {
      if (r.size === 0) continue;
      const part = (t: Tensor) => view(t.buffer, [r.size], t.offset + r.offset);
      backend.adamw(
        part(params),
        part(grads),
        view(this.m, [r.size], r.offset),
        view(this.v, [r.size], r.offset),
        {
          lr: opts.lr,
          beta1: hyper.beta1,
          beta2: hyper.beta2,
          eps: hyper.eps,
          weightDecay,
          step: opts.step,
          gradScale,
          ...(clip ? { clip } : {}),
        },
      );
    }
  }

  /** The global L2 norm of the (unscaled) gradients of the last step (reads back: syncs). */
  async lastGradNorm(): Promise<number> {
    const s = await this.backend.read(view(this.sumSq, [1]));
    return Math.sqrt(s[0] ?? 0);
  }

  moments(): { m: Tensor; v: Tensor } {
    return { m: view(this.m, [this.layout.total]), v: view(this.v, [this.layout.total]) };
  }

  dispose(): void {
    for (const b of [this.m, this.v, this.sumSq]) this.backend.destroyBuffer(b);
  }
}
