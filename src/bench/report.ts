// Printing benchmark rows: one JSON object per line (for machines) or an aligned table with the
// ceiling share, bandwidth for memory-bound rows and, where a peer row follows ours, the
// ours/peer ratio (for people).
import type { BenchRow } from "./ops-bench.js";

export function jsonLine(row: BenchRow): string {
  return JSON.stringify({
    op: row.op,
    backend: row.backend,
    shape: row.shape,
    seconds: row.seconds,
    gflops: row.gflops,
    ...(row.gbps !== undefined ? { gbps: row.gbps } : {}),
    ...(row.ceiling !== undefined ? { ceiling: row.ceiling } : {}),
    ...(row.peer !== undefined ? { peer: row.peer } : {}),
  });
}

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

const COLS: [string, number, boolean][] = [
  ["op", 18, false],
  ["shape", 26, false],
  ["by", 24, false],
  ["ms", 10, true],
  ["GFLOP/s", 9, true],
  ["%ceil", 6, true],
  ["GB/s", 8, true],
  ["ours/peer", 10, true],
];

export function tableHeader(): string {
  return COLS.map(([name, w, r]) => pad(name, w, r)).join(" ");
}

/** One table line; `ours` is our row of the same op and shape when `row` is a peer's. */
export function tableLine(row: BenchRow, ours?: BenchRow): string {
  const cells = [
    row.op,
    row.shape.join("x"),
    row.peer ?? row.backend,
    (row.seconds * 1e3).toPrecision(4),
    row.gflops.toFixed(1),
    row.ceiling && !row.peer ? `${((100 * row.gflops) / row.ceiling).toFixed(0)}%` : "",
    row.gbps !== undefined ? row.gbps.toFixed(1) : "",
    row.peer && ours ? (ours.gflops / row.gflops).toFixed(2) : "",
  ];
  return cells.map((c, i) => pad(c, COLS[i]![1], COLS[i]![2])).join(" ");
}
