// Switches of the paged engine's decode-path kernels (decode-linear.ts, paged.ts), for tests and
// benchmarks (A/B in one process), and the GEMV's row block.

export const decodeTuning = {
  /** The K/V append inside the q/k/v projection (encodeQkvAppend); false: a separate dispatch. */
  fuseKvAppend: true,
  /**
   * Output columns per decode-linear workgroup (256 / cols lanes share a column's K): "auto" = 4 up
   * to 16 rows (short K loops, many workgroups), 16 above (fewer re-reads of x; measured faster at
   * 32 rows on an H100, slower at 1-16).
   */
  gemvCols: "auto" as "auto" | 4 | 16,
  /**
   * Largest M of the tiled decode linear (paged_mm.wgsl) that takes over above gemvMaxRows;
   * larger M: the caller's plain ops (rmsnorm/swiglu, then matmul). 32: the tiled kernel off.
   */
  tileMaxRows: 256,
  /**
   * Largest M of the GEMV (it re-reads w once per 4 rows of x; above: the tiled kernel). 16:
   * measured on an H100, the GEMV is 4-15% faster per step at 8 and 16 rows, the tiled kernel
   * 16-21% at 32. The fused q/k/v + K/V append is GEMV-only.
   */
  gemvMaxRows: 16,
  /**
   * Output columns per tiled decode-linear workgroup (paged_mm.wgsl BN): "auto" = 64 from 2048
   * columns (the MLP's gate/up and the LM head: 20-25% faster at 128 rows on an H100), else 32.
   */
  tileCols: "auto" as "auto" | 32 | 64,
  /**
   * Up to gemvMaxRows rows: merge the attention's partials inside the output projection's GEMV
   * (encodeAttentionLinear) instead of a combine pass. false: partials, combine, then the GEMV.
   */
  combineInLinear: true,
};

/** Rows of x per decode-linear GEMV workgroup (paged_gemv.wgsl MR). */
export const GEMV_ROW_BLOCK = 4;
