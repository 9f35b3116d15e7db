// Random access to one split's tokens as one virtual array over its shard files: read(start, n)
// copies tokens [start, start+n) into an Int32Array, crossing shard boundaries. Reads with pread
// (no whole-file loads), so a multi-GB split costs a few file descriptors, not memory.
import { closeSync, openSync, readSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import { FormatError } from "../errors.js";
import { type ShardManifest, tokenBytes } from "./manifest.js";

export class TokenStore {
  readonly length: number;
  private readonly fds: number[];
  private readonly starts: number[];
  private readonly bpt: 2 | 4;
  private scratch = new Uint8Array(0);

  constructor(dir: string, manifest: ShardManifest, split: "train" | "val") {
    if (endianness() !== "LE")
      throw new FormatError("shards are little-endian; this big-endian host cannot read them");
    this.bpt = tokenBytes(manifest.dtype);
    this.fds = [];
    this.starts = [];
    let total = 0;
    for (const s of manifest.splits[split].shards) {
      this.starts.push(total);
      this.fds.push(openSync(join(dir, s.file), "r"));
      total += s.tokens;
    }
    this.starts.push(total);
    this.length = total;
  }

  /** Copies tokens [start, start + n) into out[outOffset...]. */
  read(start: number, n: number, out: Int32Array, outOffset = 0): void {
    if (start < 0 || start + n > this.length) {
      throw new FormatError(
        `token range [${start}, ${start + n}) is outside the split (${this.length} tokens)`,
      );
    }
    let shard = this.shardOf(start);
    let pos = start;
    let o = outOffset;
    while (pos < start + n) {
      const end = Math.min(start + n, this.starts[shard + 1]!);
      const count = end - pos;
      const bytes = count * this.bpt;
      if (this.scratch.length < bytes) this.scratch = new Uint8Array(bytes);
      const got = readSync(this.fds[shard]!, this.scratch, 0, bytes, (pos - this.starts[shard]!) * this.bpt);
      if (got !== bytes)
        throw new FormatError(`shard ${shard} of the split is shorter than its manifest says`);
      const view =
        this.bpt === 2
          ? new Uint16Array(this.scratch.buffer, 0, count)
          : new Uint32Array(this.scratch.buffer, 0, count);
      for (let i = 0; i < count; i++) out[o + i] = view[i]!;
      o += count;
      pos = end;
      shard++;
    }
  }

  private shardOf(pos: number): number {
    let lo = 0;
    let hi = this.fds.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}
