// Write stamps of the CPU backend's buffers: every op stamps each buffer it is given (before it
// runs, and a CE forward stamps `losses` again after), except the read-only operands an op declares,
// so any change to a buffer's contents moves its stamp. Caches derived from a buffer (the cross-
// entropy lse) compare stamps to know they are still valid. Stamps are never reused.
import type { DeviceBuffer } from "../tensor.js";

export class BufferVersions {
  private clock = 0;
  private readonly stamps = new WeakMap<DeviceBuffer, number>();

  /** Marks `b` as (about to be) written. */
  bump(b: DeviceBuffer): void {
    this.stamps.set(b, ++this.clock);
  }

  /** The buffer's current stamp (0 before its first write through an op). */
  of(b: DeviceBuffer): number {
    return this.stamps.get(b) ?? 0;
  }
}
