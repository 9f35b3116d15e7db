// Training batches from a shard folder. The train split is cut into windows of T+1 tokens at
// stride T (window w = tokens [w*T, w*T+T+1)); each epoch visits every window once in a seeded
// random order. A batch stacks B windows: inputs = first T tokens, targets = last T. The position
// is a small JSON-able state: restore(state()) continues with exactly the same batches.
import { ConfigError } from "../errors.js";
import { readManifest, type ShardManifest } from "./manifest.js";
import { TokenStore } from "./token-store.js";

export interface BatchLoaderOptions {
  dir: string;
  /** B: rows per batch. */
  batchSize: number;
  /** T: tokens per row (each row reads T+1 tokens). */
  seqLen: number;
  seed?: number;
}

export interface Batch {
  // inputs, targets: (rows, T), row-major
  inputs: Int32Array;
  targets: Int32Array;
  rows: number;
  seqLen: number;
}

export interface LoaderState {
  version: 1;
  seed: number;
  epoch: number;
  /** Windows of the current epoch already served. */
  cursor: number;
  batchSize: number;
  seqLen: number;
  trainTokens: number;
}

export class BatchLoader {
  readonly manifest: ShardManifest;
  readonly batchSize: number;
  readonly seqLen: number;
  /** The shuffling seed (restore() may replace it). */
  seed: number;
  /** Windows per epoch of the train split. */
  readonly windows: number;
  private readonly train: TokenStore;
  private readonly val: TokenStore;
  private epoch = 0;
  private cursor = 0;
  private order: Uint32Array;
  private readonly row: Int32Array;

  constructor(opts: BatchLoaderOptions) {
    const { batchSize: B, seqLen: T } = opts;
    if (!Number.isInteger(B) || B < 1) throw new ConfigError(`batch size ${B} must be a positive integer`);
    if (!Number.isInteger(T) || T < 1)
      throw new ConfigError(`sequence length ${T} must be a positive integer`);
    this.manifest = readManifest(opts.dir);
    this.batchSize = B;
    this.seqLen = T;
    this.seed = (opts.seed ?? 0) >>> 0;
    this.train = new TokenStore(opts.dir, this.manifest, "train");
    this.val = new TokenStore(opts.dir, this.manifest, "val");
    this.windows = windowCount(this.train.length, T);
    if (this.windows === 0) {
      this.close();
      throw new ConfigError(
        `the train split has ${this.train.length} tokens, too few for one window of ${T + 1}: lower --seq-len or add data`,
      );
    }
    this.order = permutation(this.windows, this.seed, 0);
    this.row = new Int32Array(T + 1);
  }

  /** The next training batch (B rows); epochs roll over transparently. */
  next(): Batch {
    const { batchSize: B, seqLen: T } = this;
    const inputs = new Int32Array(B * T);
    const targets = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      if (this.cursor === this.windows) {
        this.epoch++;
        this.cursor = 0;
        this.order = permutation(this.windows, this.seed, this.epoch);
      }
      const w = this.order[this.cursor++]!;
      this.train.read(w * T, T + 1, this.row);
      inputs.set(this.row.subarray(0, T), b * T);
      targets.set(this.row.subarray(1), b * T);
    }
    return { inputs, targets, rows: B, seqLen: T };
  }

  /** Epochs completed plus the fraction of the current one. */
  get progress(): number {
    return this.epoch + this.cursor / this.windows;
  }

  state(): LoaderState {
    return {
      version: 1,
      seed: this.seed,
      epoch: this.epoch,
      cursor: this.cursor,
      batchSize: this.batchSize,
      seqLen: this.seqLen,
      trainTokens: this.train.length,
    };
  }

  restore(s: LoaderState): void {
    if (s.version !== 1)
      throw new ConfigError(`loader state version ${s.version} is not supported (expected 1)`);
    if (s.trainTokens !== this.train.length || s.seqLen !== this.seqLen) {
      throw new ConfigError(
        `loader state is for ${s.trainTokens} train tokens at T=${s.seqLen}, these shards have ` +
          `${this.train.length} at T=${this.seqLen}: resume with the same data and sequence length`,
      );
    }
    if (!(s.cursor >= 0 && s.cursor <= this.windows))
      throw new ConfigError(`loader state cursor ${s.cursor} is out of range`);
    this.seed = s.seed >>> 0;
    this.epoch = s.epoch;
    this.cursor = s.cursor;
    this.order = permutation(this.windows, this.seed, this.epoch);
  }

  /** Validation tokens: windows at stride T in file order; the last batch may have fewer rows. */
  *validation(opts: { batchSize?: number; maxBatches?: number } = {}): Generator<Batch> {
    const B = opts.batchSize ?? this.batchSize;
    const T = this.seqLen;
    const total = windowCount(this.val.length, T);
    const limit = Math.min(Math.ceil(total / B), opts.maxBatches ?? Number.POSITIVE_INFINITY);
    const row = new Int32Array(T + 1);
    for (let k = 0; k < limit; k++) {
      const rows = Math.min(B, total - k * B);
      const inputs = new Int32Array(rows * T);
      const targets = new Int32Array(rows * T);
      for (let b = 0; b < rows; b++) {
        this.val.read((k * B + b) * T, T + 1, row);
        inputs.set(row.subarray(0, T), b * T);
        targets.set(row.subarray(1), b * T);
      }
      yield { inputs, targets, rows, seqLen: T };
    }
  }

  /** Validation windows available at this T. */
  get validationWindows(): number {
    return windowCount(this.val.length, this.seqLen);
  }

  close(): void {
    this.train.close();
    this.val.close();
  }
}

function windowCount(tokens: number, T: number): number {
  return tokens > T ? Math.floor((tokens - 1) / T) : 0;
}

/** A seeded Fisher-Yates permutation of 0..n-1 for (seed, epoch) (mulberry32 generator). */
export function permutation(n: number, seed: number, epoch: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  let s = (seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
