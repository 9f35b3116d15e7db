// Appends token ids to one split's shard files ("train-00000.bin", ...): raw little-endian uint16
// or uint32, rolling to a new file every `shardTokens` tokens, hashing each file as it is written.
// Buffered; call finish() once. Knows nothing of documents or manifests.
import { createHash, type Hash } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import { ConfigError, FormatError } from "../errors.js";
import type { ShardInfo } from "./manifest.js";

const BUFFER_TOKENS = 1 << 20;

export interface ShardWriterOptions {
  dir: string;
  split: "train" | "val";
  dtype: "uint16" | "uint32";
  shardTokens: number;
}

export class ShardWriter {
  readonly shards: ShardInfo[] = [];
  tokens = 0;
  private readonly buf: Uint16Array | Uint32Array;
  private fill = 0;
  private fd: number | null = null;
  private hash: Hash | null = null;
  private inShard = 0;
  private readonly max: number;

  constructor(private readonly opts: ShardWriterOptions) {
    if (endianness() !== "LE")
      throw new FormatError("shards are little-endian; this big-endian host cannot write them");
    if (!(opts.shardTokens > 0))
      throw new ConfigError(`shard size ${opts.shardTokens} must be a positive token count`);
    this.buf = opts.dtype === "uint16" ? new Uint16Array(BUFFER_TOKENS) : new Uint32Array(BUFFER_TOKENS);
    this.max = opts.dtype === "uint16" ? 0xffff : 0xffffffff;
  }

  /** Appends ids (each must fit the dtype). */
  write(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      const v = ids[i]!;
      if (v > this.max) throw new FormatError(`token id ${v} does not fit ${this.opts.dtype}`);
      this.buf[this.fill++] = v;
      if (this.fill === this.buf.length) this.flush();
    }
  }

  private flush(): void {
    let start = 0;
    while (start < this.fill) {
      if (this.fd === null) this.open();
      const n = Math.min(this.fill - start, this.opts.shardTokens - this.inShard);
      const view = this.buf.subarray(start, start + n);
      const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      let off = 0;
      while (off < bytes.length) off += writeSync(this.fd!, bytes, off, bytes.length - off);
      this.hash!.update(bytes);
      this.inShard += n;
      this.tokens += n;
      start += n;
      if (this.inShard === this.opts.shardTokens) this.close();
    }
    this.fill = 0;
  }

  private open(): void {
    const file = `${this.opts.split}-${String(this.shards.length).padStart(5, "0")}.bin`;
    this.fd = openSync(join(this.opts.dir, file), "w");
    this.hash = createHash("sha256");
    this.inShard = 0;
    this.shards.push({ file, tokens: 0, sha256: "" });
  }

  private close(): void {
    if (this.fd === null) return;
    closeSync(this.fd);
    const last = this.shards[this.shards.length - 1]!;
    last.tokens = this.inShard;
    last.sha256 = this.hash!.digest("hex");
    this.fd = null;
    this.hash = null;
  }

  /** Flushes and closes; returns the shard list (empty when nothing was written). */
  finish(): ShardInfo[] {
    this.flush();
    this.close();
    return this.shards;
  }
}
