// Training metrics as JSON Lines: one object per event ({"kind":"train"|"val"|..., "step", ...}),
// appended and flushed per line so a crashed run keeps everything up to its last step.
// On resume the file is truncated to the checkpoint's step, so the curve has no duplicates.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export interface MetricRecord {
  kind: string;
  step: number;
  [key: string]: unknown;
}

export class MetricsLog {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  append(record: MetricRecord): void {
    appendFileSync(this.path, `${JSON.stringify(record)}\n`);
  }

  /** Drops records after `step` (used when resuming from a checkpoint taken at `step`). */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const keep = readMetrics(this.path).filter((r) => r.step <= step);
    writeFileSync(this.path, keep.map((r) => `${JSON.stringify(r)}\n`).join(""));
  }
}

export function readMetrics(path: string): MetricRecord[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as MetricRecord];
      } catch {
        return []; // a line torn by a crash mid-append
      }
    });
}
