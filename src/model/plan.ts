// Capacity planning: given a memory budget and a context length, how many sequences' KV caches fit
// beside the weights? `planCapacity` is pure (the inference engine uses it for admission control);
// `parseByteSize` / `parseTokenCount` / `formatBytes` serve the CLI. No allocation happens here.
import { bytesPerElement } from "../backend/tensor.js";
import { ConfigError } from "../errors.js";
import { countParams, type KvDtype, kvBytesPerToken, kvBytesPerToken16 } from "./accounting.js";
import type { ModelConfig } from "./config-types.js";

/** Default activation/workspace reserve: this fraction of the memory budget. */
export const DEFAULT_RESERVE_FRACTION = 0.05;
export const DEFAULT_BLOCK_SIZE = 16;

export interface PlanOptions {
  /** Total memory budget in bytes (weights + KV cache + reserve). */
  memoryBytes: number;
  /** Tokens per sequence (prompt + generated) to plan for. */
  context: number;
  /** KV storage dtype; default the config's kvDtype. */
  kvDtype?: KvDtype;
  /** Weight storage dtype; default "f16". */
  weightsDtype?: KvDtype;
  /** Tokens per KV-cache block (paged cache); a sequence holds whole blocks. Default 16. */
  blockSize?: number;
  /** Bytes kept for activations/workspace; default DEFAULT_RESERVE_FRACTION x memoryBytes. */
  reserveBytes?: number;
}

export interface CapacityPlan {
  name: string;
  params: number;
  weightsDtype: KvDtype;
  weightsBytes: number;
  kvDtype: KvDtype;
  kvBytesPerToken16: number;
  /** At kvDtype: 2 x Hkv x D x P x bytes per element. */
  kvBytesPerToken: number;
  context: number;
  blockSize: number;
  blocksPerSequence: number;
  /** blockSize x kvBytesPerToken (all producer layers of the block). */
  kvBytesPerBlock: number;
  /** blocksPerSequence x kvBytesPerBlock: context rounded up to whole blocks. */
  kvBytesPerSequence: number;
  memoryBytes: number;
  reserveBytes: number;
  /** memory - weights - reserve, floored at 0. */
  kvBudgetBytes: number;
  /** Whole blocks the KV budget holds (the paged pool size). */
  kvBlocks: number;
  /** The most concurrent sequences of `context` tokens whose caches fit. */
  maxSequences: number;
  /** false when the weights and reserve alone exceed the memory. */
  fits: boolean;
}

function positiveInt(what: string, v: number, fix: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new ConfigError(`${what} ${v} is invalid: ${fix}`);
}

/** The capacity of one config under `opts`. Pure; throws ConfigError on bad options. */
export function planCapacity(cfg: ModelConfig, opts: PlanOptions): CapacityPlan {
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  positiveInt("context", opts.context, "give a positive whole number of tokens");
  positiveInt("block size", blockSize, "give a positive whole number of tokens, e.g. 16");
  if (!Number.isFinite(opts.memoryBytes) || opts.memoryBytes <= 0) {
    throw new ConfigError(`memory ${opts.memoryBytes} is invalid: give a positive size like 16GiB`);
  }
  const reserveBytes = opts.reserveBytes ?? Math.floor(opts.memoryBytes * DEFAULT_RESERVE_FRACTION);
  if (!Number.isFinite(reserveBytes) || reserveBytes < 0) {
    throw new ConfigError(`reserve ${reserveBytes} is invalid: give a size >= 0 like 512MiB or a percentage`);
  }
  const weightsDtype = opts.weightsDtype ?? "f16";
  const kvDtype = opts.kvDtype ?? cfg.kvDtype;
  const params = countParams(cfg).total;
  const weightsBytes = params * bytesPerElement(weightsDtype);
  const perToken = kvBytesPerToken(cfg, kvDtype);
  const blocksPerSequence = Math.ceil(opts.context / blockSize);
  const kvBytesPerBlock = blockSize * perToken;
  const kvBytesPerSequence = blocksPerSequence * kvBytesPerBlock;
  const free = opts.memoryBytes - weightsBytes - reserveBytes;
  const kvBudgetBytes = Math.max(0, free);
  const kvBlocks = Math.floor(kvBudgetBytes / kvBytesPerBlock);
  return {
    name: cfg.name,
    params,
    weightsDtype,
    weightsBytes,
    kvDtype,
    kvBytesPerToken16: kvBytesPerToken16(cfg),
    kvBytesPerToken: perToken,
    context: opts.context,
    blockSize,
    blocksPerSequence,
    kvBytesPerBlock,
    kvBytesPerSequence,
    memoryBytes: opts.memoryBytes,
    reserveBytes,
    kvBudgetBytes,
    kvBlocks,
    maxSequences: Math.floor(kvBlocks / blocksPerSequence),
    fits: free >= 0,
  };
}

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** "16GiB" (2^30), "1.5GB" (10^9), "512MiB", "4096" (bytes) -> bytes (rounded down). */
export function parseByteSize(text: string, what = "size"): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) {
    throw new ConfigError(
      `${what} "${text}" is not a size: write a number and a unit, like 16GiB, 512MiB or 1.5GB`,
    );
  }
  const unit = m[2]!.toLowerCase() || "b";
  const scale = UNITS[unit];
  if (scale === undefined) {
    const hint = /^[kmgt]$/.test(unit)
      ? `"${m[2]}" is ambiguous: write ${m[1]}${m[2]!.toUpperCase()}iB (binary) or ${m[1]}${m[2]!.toUpperCase()}B (decimal)`
      : `unknown unit "${m[2]}": use B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024)`;
    throw new ConfigError(`${what} "${text}": ${hint}`);
  }
  return Math.floor(Number(m[1]) * scale);
}

/** "4096" or "4k" (x1024, the usual meaning for context lengths) -> a positive whole token count. */
export function parseTokenCount(text: string, what = "context"): number {
  const m = /^\s*(\d+)\s*(k?)\s*$/i.exec(text);
  const n = m ? Number(m[1]) * (m[2] ? 1024 : 1) : Number.NaN;
  if (!Number.isInteger(n) || n <= 0) {
    throw new ConfigError(
      `${what} "${text}" is not a token count: give a positive whole number like 4096 or 4k`,
    );
  }
  return n;
}

/** 1536 -> "1.50 KiB"; binary units, 3 significant digits. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toPrecision(3)} ${units[i]}`;
}

/** 1_051_000_000 -> "1.05B", 25_300_000 -> "25.3M", 900 -> "900"; 3 significant digits. */
export function formatCount(n: number): string {
  const units: [number, string][] = [
    [1e12, "T"],
    [1e9, "B"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [scale, suffix] of units)
    if (Math.abs(n) >= scale) return `${(n / scale).toPrecision(3)}${suffix}`;
  return String(n);
}
