// Layout of the reserved low region [0, reservedBytes) of the shared wasm memory that the
// kernels own: job counters, the module's static data, and one scratch area per thread.
// The CPU backend allocates tensors at or above reservedBytes; nothing else lives here.

/** Byte address of the i32 work-item counter of the running job. */
export const COUNTER_OFFSET = 0;
/** The module's static data starts here (asc --memoryBase) and must end below STATIC_LIMIT. */
export const STATIC_BASE = 1024;
export const STATIC_LIMIT = 64 * 1024;
/** Scratch per thread (packed panels, attention tiles); every kernel's needs must fit. */
export const THREAD_SCRATCH_BYTES = 1024 * 1024;

/** Bytes of the reserved region for `threads` threads (a multiple of the 64 KiB wasm page). */
export function reservedBytesFor(threads: number): number {
  return STATIC_LIMIT + threads * THREAD_SCRATCH_BYTES;
}

/** Byte address of thread `t`'s scratch area (thread 0 is the calling thread). */
export function scratchOffset(t: number): number {
  return STATIC_LIMIT + t * THREAD_SCRATCH_BYTES;
}
