// Crash-safe file writes: write a temp file beside the target, fsync it, rename over the target,
// fsync the directory. A reader sees the old file or the new one, never a torn one.
// Not a lock: two writers of the same path race (last rename wins).
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join, basename } from "node:path";

/** Writes `chunks` to `path` atomically (temp file, fsync, rename, fsync dir). */
export function writeFileAtomic(
  path: string,
  chunks: Uint8Array | string | readonly (Uint8Array | string)[],
): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now()}`);
  const list = Array.isArray(chunks) ? chunks : [chunks];
  const fd = openSync(tmp, "w");
  try {
    for (const c of list as (Uint8Array | string)[]) {
      const bytes = typeof c === "string" ? Buffer.from(c, "utf8") : c;
      let off = 0;
      while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    }
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
  closeSync(fd);
  renameSync(tmp, path);
  syncDir(dir);
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
