// Reference embedding lookup and its backward (scatter-add, deterministic: rows in order n = 0..N-1).
// ids must already be validated to lie in [0, V); the table may be f32 or f64 storage.
import type { IntSpan, Span } from "./types.js";

export interface EmbeddingArgs {
  out: Span; // (N, C)
  table: Span; // (V, C)
  ids: IntSpan; // (N)
  n: number;
  c: number;
}

export function embeddingRef({ out, table, ids, n, c }: EmbeddingArgs): void {
  for (let r = 0; r < n; r++) {
    const src = table.off + ids.data[ids.off + r]! * c;
    const dst = out.off + r * c;
    for (let j = 0; j < c; j++) out.data[dst + j] = table.data[src + j]!;
  }
}

export interface EmbeddingBackwardArgs {
  dTable: Span; // (V, C), accumulated into
  dOut: Span; // (N, C)
  ids: IntSpan; // (N)
  n: number;
  c: number;
}

export function embeddingBackwardRef({ dTable, dOut, ids, n, c }: EmbeddingBackwardArgs): void {
  for (let r = 0; r < n; r++) {
    const dst = dTable.off + ids.data[ids.off + r]! * c;
    const src = dOut.off + r * c;
    for (let j = 0; j < c; j++) dTable.data[dst + j]! += dOut.data[src + j]!;
  }
}
