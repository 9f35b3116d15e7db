// Test helper: the batch layout of a paged-attention case. Not a test file.

/**
 * Sequences of [cached, new] tokens in pages of `blockSize` slots: their lengths, query starts
 * (B + 1) and rows N, and block tables (B, mb) handing out blocks from the top of a pool of all
 * needed blocks plus `spare` unused ones (descending: fragmented, never in slot order).
 */
export function pagedBatch(seqs: readonly (readonly [number, number])[], blockSize: number, spare = 2) {
  const lens = seqs.map(([cached, fresh]) => cached + fresh);
  const starts = [0];
  for (const [, fresh] of seqs) starts.push(starts[starts.length - 1]! + fresh);
  const blocksPer = lens.map((s) => Math.ceil(s / blockSize));
  const numBlocks = blocksPer.reduce((a, b) => a + b, 0) + spare;
  const mb = Math.max(1, ...blocksPer);
  const tables = new Int32Array(seqs.length * mb);
  let next = numBlocks - 1;
  blocksPer.forEach((nb, b) => {
    for (let i = 0; i < nb; i++) tables[b * mb + i] = next--;
  });
  return { lens, starts, n: starts[starts.length - 1]!, numBlocks, mb, tables };
}

/**
 * Sets every pool slot no sequence's keys occupy (slots past a sequence's length, spare blocks)
 * to NaN in `k` and `v` (numBlocks * blockSize slots of `row` elements): a kernel that lets an
 * unused slot reach a sum, even weighted by 0, then fails its comparison.
 */
export function poisonUnusedSlots(
  pools: readonly Float32Array[],
  b: { lens: readonly number[]; tables: Int32Array; mb: number },
  blockSize: number,
  row: number,
): void {
  const used = new Uint8Array(pools[0]!.length / row);
  b.lens.forEach((len, s) => {
    for (let i = 0; i < len; i++)
      used[b.tables[s * b.mb + Math.floor(i / blockSize)]! * blockSize + (i % blockSize)] = 1;
  });
  for (let slot = 0; slot < used.length; slot++) {
    if (!used[slot]) for (const p of pools) p.fill(Number.NaN, slot * row, (slot + 1) * row);
  }
}
