// Bind groups by content: (layout, the params ring at binding 0 (at a fixed offset for a tape's
// static-params layout), then each bound byte range), so a dispatch that binds the same ranges as
// an earlier one reuses its GPUBindGroup. Bounded: cleared when it holds 8192 groups. GPU buffers
// get small ids for the keys (a WeakMap, no leaks).
/// <reference types="@webgpu/types" />
import type { Range } from "./bind-ranges.js";
import { PARAM_BYTES } from "./params-ring.js";

const MAX_GROUPS = 8192;

export class BindGroupCache {
  private readonly groups = new Map<string, GPUBindGroup>();
  private readonly ids = new WeakMap<GPUBuffer, number>();
  private nextId = 1;

  constructor(
    private readonly device: GPUDevice,
    private readonly params: GPUBuffer,
    /** Called for each bind group created (the runtime counts them). */
    private readonly onCreate: () => void,
  ) {}

  private id(b: GPUBuffer): number {
    let id = this.ids.get(b);
    if (id === undefined) {
      id = this.nextId++;
      this.ids.set(b, id);
    }
    return id;
  }

  /** `paramsOffset`: the params' byte offset for a static-params layout (0 with a dynamic one). */
  get(
    layout: GPUBindGroupLayout,
    layoutKey: string,
    ranges: readonly Range[],
    paramsOffset = 0,
  ): GPUBindGroup {
    let key = `${layoutKey}@${paramsOffset}`;
    for (const r of ranges) key += `|${this.id(r.buf)}:${r.start}:${r.size}`;
    let bg = this.groups.get(key);
    if (!bg) {
      if (this.groups.size >= MAX_GROUPS) this.groups.clear();
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: this.params, offset: paramsOffset, size: PARAM_BYTES } },
      ];
      ranges.forEach((r, i) => {
        entries.push({ binding: i + 1, resource: { buffer: r.buf, offset: r.start, size: r.size } });
      });
      bg = this.device.createBindGroup({ layout, entries });
      this.groups.set(key, bg);
      this.onCreate();
    }
    return bg;
  }

  clear(): void {
    this.groups.clear();
  }
}
