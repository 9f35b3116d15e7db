// Pure tests of binding ranges and the aliasing plan (no device): aligned-down starts and relative
// offsets for f32/f16 views, binding-size limits, and which bindings get shadowed when outputs and
// inputs share a buffer (WebGPU rejects read-only + writable of one buffer in one dispatch).
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DType, Tensor } from "../../src/backend/tensor.js";
import { bindRange, planAliasing, type Range } from "../../src/backend/webgpu/bind-ranges.js";
import { BackendError } from "../../src/errors.js";

const lim = { align: 256, maxBinding: 1 << 20 };
function fakeBuffer(size: number): GPUBuffer {
  return { size } as unknown as GPUBuffer;
}
function t(offset: number, n: number, dtype: DType = "f32"): Tensor {
  return { buffer: { id: 1, size: 1 << 20, dtype, label: "b" }, offset, shape: [n], dtype };
}

test("ranges start at the aligned-down view start and report the element offset within", () => {
  const buf = fakeBuffer(4096);
  assert.deepEqual(bindRange(t(70, 10), buf, "b", lim, false), { buf, start: 256, size: 64, rel: 6 });
  // f16 at an odd element offset: byte 2 * 131 = 262 -> start 256, rel 3 halves, end rounded to 4
  assert.deepEqual(bindRange(t(131, 3, "f16"), buf, "b", lim, false), { buf, start: 256, size: 12, rel: 3 });
  assert.deepEqual(bindRange(t(70, 10), buf, "b", lim, true), { buf, start: 0, size: 4096, rel: 70 });
  assert.throws(() => bindRange(t(0, 300000), fakeBuffer(1 << 21), "b", lim, false), BackendError);
});

test("aliasing plan: in-place ops shadow the read-only input, disjoint ranges need only read_write", () => {
  const a = fakeBuffer(8192);
  const b = fakeBuffer(8192);
  const r = (buf: GPUBuffer, start: number, size: number): Range => ({ buf, start, size, rel: 0 });
  // out == x (same range): shadow x, nothing else shares the buffer afterwards
  assert.deepEqual(planAliasing([r(a, 0, 64), r(a, 0, 64)], [true, false]), { shadows: [1], aliased: false });
  // out and x disjoint in one buffer: no copy, but the kernel must be all read_write
  assert.deepEqual(planAliasing([r(a, 0, 64), r(a, 256, 64)], [true, false]), { shadows: [], aliased: true });
  // two read-only overlapping inputs are fine alone ...
  assert.deepEqual(planAliasing([r(b, 0, 64), r(a, 0, 64), r(a, 0, 64)], [true, false, false]), {
    shadows: [],
    aliased: false,
  });
  // ... but once the kernel goes read_write (out in a), overlapping inputs must be split apart
  assert.deepEqual(planAliasing([r(a, 512, 64), r(a, 0, 64), r(a, 0, 64)], [true, false, false]), {
    shadows: [2],
    aliased: true,
  });
  // two overlapping outputs: the later one is shadowed (copied back by the runtime)
  assert.deepEqual(planAliasing([r(a, 0, 64), r(a, 32, 64)], [true, true]), { shadows: [1], aliased: false });
});
