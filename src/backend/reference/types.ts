// Shared types of the reference kernels: a float array (f32 storage or the f64 oracle) plus an
// element offset. Kernels read and write through these spans and never allocate device memory;
// they compute in JS numbers (f64) whatever the storage, so rounding happens only on store.

export type FloatArray = Float32Array | Float64Array;

/** Elements [off, off + n) of `data`, where n comes from the kernel's dims. */
export interface Span {
  readonly data: FloatArray;
  readonly off: number;
}

/** Token ids / positions: elements [off, off + n) of an Int32Array. */
export interface IntSpan {
  readonly data: Int32Array;
  readonly off: number;
}
