// How tensors are bound for a dispatch: each view becomes a byte range of its buffer starting at
// the aligned-down view start (the kernel gets the element offset within it), and the aliasing
// plan: WebGPU rejects a buffer bound read-only and writable in one dispatch, and overlapping
// ranges when one is writable, so some bindings must be copied aside ("shadowed") and/or the
// kernel compiled with every storage binding read_write. Pure functions; the runtime applies them.
/// <reference types="@webgpu/types" />
import { BackendError } from "../../errors.js";
import type { Tensor } from "../tensor.js";
import { bytesPerElement, numel } from "../tensor.js";

export interface Range {
  buf: GPUBuffer;
  /** Byte offset of the binding (a multiple of minStorageBufferOffsetAlignment). */
  start: number;
  /** Byte size of the binding (a multiple of 4). */
  size: number;
  /** The view's first element, counted from `start` in elements of its dtype. */
  rel: number;
}

export interface RangeLimits {
  align: number;
  maxBinding: number;
}

/** The binding range of view `t` of `buf` (whole: the whole buffer, absolute offsets). */
export function bindRange(t: Tensor, buf: GPUBuffer, label: string, lim: RangeLimits, whole: boolean): Range {
  const bpe = bytesPerElement(t.dtype);
  const byteOff = t.offset * bpe;
  if (whole) {
    if (buf.size > lim.maxBinding) {
      throw new BackendError(
        `buffer "${label}" (${buf.size} bytes) is over maxStorageBufferBindingSize ${lim.maxBinding}`,
      );
    }
    return { buf, start: 0, size: buf.size, rel: t.offset };
  }
  let start = Math.floor(byteOff / lim.align) * lim.align;
  let end = Math.ceil(((t.offset + numel(t.shape)) * bpe) / 4) * 4;
  if (end <= start) end = start + 4;
  if (end > buf.size) {
    end = buf.size;
    start = Math.min(start, Math.floor((end - 4) / lim.align) * lim.align);
  }
  if (end - start > lim.maxBinding) {
    throw new BackendError(
      `tensor [${t.shape}] of "${label}" spans ${end - start} bytes, over this device's maxStorageBufferBindingSize ${lim.maxBinding}: split the op`,
    );
  }
  return { buf, start, size: end - start, rel: (byteOff - start) / bpe };
}

function overlap(a: Range, b: Range): boolean {
  return a.buf === b.buf && a.start < b.start + b.size && b.start < a.start + a.size;
}

export interface AliasPlan {
  /** Binding indices to copy into scratch first (and back afterwards when declared writable). */
  shadows: number[];
  /** Compile the kernel with every storage binding read_write. */
  aliased: boolean;
}

/**
 * Given each binding's range and declared access (true = writable): which bindings to shadow so that
 * no overlapping pair involves a writable binding, and whether a buffer is still bound both writable
 * and read-only (then all bindings become read_write, and overlapping read-only pairs are shadowed).
 * A read-only member of a pair is shadowed in preference to a writable one.
 */
export function planAliasing(ranges: readonly Range[], declared: readonly boolean[]): AliasPlan {
  const n = ranges.length;
  const moved = new Array<boolean>(n).fill(false);
  const shadows: number[] = [];
  const pass = (writable: readonly boolean[]) => {
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        if (moved[i] || moved[j] || !(writable[i] || writable[j])) continue;
        if (!overlap(ranges[i]!, ranges[j]!)) continue;
        const v = !declared[j] ? j : !declared[i] ? i : j;
        moved[v] = true;
        shadows.push(v);
      }
    }
  };
  pass(declared);
  const aliased = ranges.some(
    (r, i) =>
      !moved[i] &&
      declared[i] &&
      ranges.some((q, j) => j !== i && !moved[j] && !declared[j] && q.buf === r.buf),
  );
  if (aliased) pass(declared.map(() => true));
  return { shadows, aliased };
}
