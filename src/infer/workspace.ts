// Grow-only scratch buffers for the engine's steps, keyed by name: a step asks for (name, shape,
// dtype) and gets a view of a buffer at least that big, reallocated only when a bigger step comes.
// One buffer per name; views of the same name alias, so a name is one tensor per step.
import type { Backend } from "../backend/backend.js";
import { type DeviceBuffer, type DType, numel, type Tensor, view } from "../backend/tensor.js";

export class Workspace {
  private readonly bufs = new Map<string, DeviceBuffer>();

  constructor(private readonly backend: Backend) {}

  get(name: string, shape: readonly number[], dtype: DType = "f32"): Tensor {
    const n = Math.max(1, numel(shape));
    let b = this.bufs.get(name);
    if (b === undefined || b.size < n || b.dtype !== dtype) {
      if (b !== undefined) this.backend.destroyBuffer(b);
      // Grow by 1.5x to amortise steps of slowly increasing size.
      b = this.backend.createBuffer(
        b !== undefined && b.dtype === dtype ? Math.max(n, Math.ceil(b.size * 1.5)) : n,
        dtype,
        `ws.${name}`,
      );
      this.bufs.set(name, b);
    }
    return view(b, shape);
  }

  dispose(): void {
    for (const b of this.bufs.values()) this.backend.destroyBuffer(b);
    this.bufs.clear();
  }
}
