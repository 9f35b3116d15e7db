// The results store: `<out>/results.jsonl`, one JSON object per finished run, append-only.
// Readers tolerate torn lines (a crash mid-append) and skip records that fail validation; a
// later record for the same run replaces an earlier one. Writers never rewrite the file.
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
} from "node:fs";
import { dirname } from "node:path";
import { z } from "zod";
import { FormatError } from "../errors.js";
import type { ModelConfig } from "../model/config-types.js";

export const RESULT_FORMAT = "crosslayer-result-v1";

/** One finished run. `modelConfig` is the full config, so the report needs no presets. */
export interface ResultRecord {
  format: typeof RESULT_FORMAT;
  sweep: string;
  /** Run folder name: `<config>__lr<lr>__s<seed>`. */
  run: string;
  config: string;
  modelConfig: ModelConfig;
  params: number;
  kvBytesPerToken16: number;
  lr: number;
  seed: number;
  steps: number;
  tokens: number;
  finalTrainLoss: number;
  finalValLoss: number;
  finalValPpl: number;
  tokensPerSecond: number;
  seconds: number;
  backend: string;
  device: string;
  /** Forward matmuls on f16 tensor cores (`--tensor-cores`); absent in records before it existed. */
  tensorCores?: boolean;
  /** ISO timestamps of the sweep starting this run and of its result. */
  startedAt: string;
  finishedAt: string;
  outDir: string;
}

const num = z.number().or(z.null().transform(() => Number.NaN)); // JSON writes NaN as null
const recordSchema = z.object({
  format: z.literal(RESULT_FORMAT),
  sweep: z.string(),
  run: z.string().min(1),
  config: z.string().min(1),
  modelConfig: z.record(z.string(), z.unknown()),
  params: z.number(),
  kvBytesPerToken16: z.number(),
  lr: z.number().positive(),
  seed: z.number(),
  steps: z.number(),
  tokens: z.number(),
  finalTrainLoss: num,
  finalValLoss: num,
  finalValPpl: num,
  tokensPerSecond: num,
  seconds: z.number(),
  backend: z.string(),
  device: z.string(),
  tensorCores: z.boolean().optional(),
  startedAt: z.string(),
  finishedAt: z.string(),
  outDir: z.string(),
});

export interface LoadedResults {
  records: ResultRecord[];
  /** 1-based line numbers that were torn, not JSON, or not a result record. */
  skipped: number[];
}

/** Every valid record of `text` (JSONL), the last one per run kept, in first-seen order. */
export function parseResults(text: string): LoadedResults {
  const byRun = new Map<string, ResultRecord>();
  const skipped: number[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line.trim()) return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped.push(i + 1);
      return;
    }
    const r = recordSchema.safeParse(value);
    if (!r.success) {
      skipped.push(i + 1);
      return;
    }
    byRun.set(r.data.run, r.data as unknown as ResultRecord);
  });
  return { records: [...byRun.values()], skipped };
}

/** Reads a results file; FormatError when it does not exist. */
export function loadResultsDetailed(path: string): LoadedResults {
  if (!existsSync(path)) {
    throw new FormatError(`no results file at ${path}: run \`crosslayer sweep SPEC.json --out DIR\` first`);
  }
  return parseResults(readFileSync(path, "utf8"));
}

/** The valid records of a results file (torn or invalid lines skipped; last record per run wins). */
export function loadResults(path: string): ResultRecord[] {
  return loadResultsDetailed(path).records;
}

/** True when the file exists, is non-empty and its last byte is not a newline (a torn append). */
function endsTorn(path: string): boolean {
  if (!existsSync(path)) return false;
  const size = statSync(path).size;
  if (size === 0) return false;
  const fd = openSync(path, "r");
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] !== 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** Appends one record as one line (after a newline if the file ends in a torn line). */
export function appendResult(path: string, record: ResultRecord): void {
  mkdirSync(dirname(path), { recursive: true });
  const lead = endsTorn(path) ? "\n" : "";
  appendFileSync(path, `${lead}${JSON.stringify(record)}\n`);
}
