// Documents from the file system: one text file, a folder tree (recursive, include globs, a byte
// cap, binary files skipped) or JSONL (one {"text": ...} object per line, streamed). Order is
// deterministic (names sorted by code unit); files over 64 MiB are cut at newlines into 16 MiB parts.
import { closeSync, createReadStream, openSync, readdirSync, readSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { createInterface } from "node:readline";
import { StringDecoder } from "node:string_decoder";
import { FormatError } from "../errors.js";
import type { CorpusDocument } from "./corpus.js";
import { globMatcher } from "./glob.js";

const BIG_FILE = 64 * 2 ** 20;
const PART = 16 * 2 ** 20;

export interface FolderOptions {
  /** Globs ("*.py", "docs/**\/*.md"); none means every file. */
  include?: string[];
  /** Stop listing before the file that would take the total past this many bytes. */
  maxBytes?: number;
}

export interface FolderFile {
  path: string;
  rel: string;
  bytes: number;
}

/** The files a folder source reads, in order. Hidden entries (".x") and symlinks are skipped. */
export function listFolder(root: string, opts: FolderOptions = {}): FolderFile[] {
  const match = opts.include?.length ? globMatcher(opts.include) : () => true;
  const cap = opts.maxBytes ?? Number.POSITIVE_INFINITY;
  const out: FolderFile[] = [];
  let total = 0;
  const walk = (dir: string, rel: string): boolean => {
    const entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => !e.name.startsWith("."))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (!walk(p, r)) return false;
      } else if (e.isFile() && match(r)) {
        const bytes = statSync(p).size;
        if (total + bytes > cap) return false;
        total += bytes;
        out.push({ path: p, rel: r, bytes });
      }
    }
    return true;
  };
  walk(root, "");
  return out;
}

/** True when the first 8 KiB hold a NUL byte (a binary file, not text). */
function looksBinary(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(8192);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).includes(0);
  } catch {
    return true;
  } finally {
    closeSync(fd);
  }
}

/** One text file as documents with ids `id` (or `id#k` for the parts of a file over 64 MiB). */
async function* textFile(path: string, id: string): AsyncGenerator<CorpusDocument> {
  const size = statSync(path).size;
  if (size <= BIG_FILE) {
    const { readFile } = await import("node:fs/promises");
    const buf = await readFile(path);
    yield { id, text: buf.toString("utf8"), bytes: buf.length };
    return;
  }
  const dec = new StringDecoder("utf8");
  let carry = "";
  let carryBytes = 0;
  let k = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: PART })) {
    const b = chunk as Buffer;
    carry += dec.write(b);
    carryBytes += b.length;
    const cut = carry.lastIndexOf("\n");
    if (cut < 0) continue;
    const text = carry.slice(0, cut + 1);
    carry = carry.slice(cut + 1);
    const rest = Buffer.byteLength(carry);
    yield { id: `${id}#${k++}`, text, bytes: carryBytes - rest };
    carryBytes = rest;
  }
  carry += dec.end();
  if (carry.length) yield { id: `${id}#${k}`, text: carry, bytes: carryBytes };
}

export function fileDocuments(path: string): AsyncGenerator<CorpusDocument> {
  return textFile(path, basename(path));
}

export async function* folderDocuments(
  root: string,
  opts: FolderOptions = {},
): AsyncGenerator<CorpusDocument> {
  for (const f of listFolder(root, opts)) {
    if (looksBinary(f.path)) continue;
    yield* textFile(f.path, f.rel);
  }
}

/** JSONL: each non-blank line an object with a string `field`; id = its "id" field or "name:line". */
export async function* jsonlDocuments(path: string, field = "text"): AsyncGenerator<CorpusDocument> {
  const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  const name = basename(path);
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    const bytes = Buffer.byteLength(line) + 1;
    if (line.trim() === "") continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new FormatError(
        `${path}:${lineNo}: not valid JSON (${(e as Error).message}): fix or remove this line`,
      );
    }
    const rec = obj as Record<string, unknown> | null;
    const text = rec && typeof rec === "object" ? rec[field] : undefined;
    if (typeof text !== "string") {
      throw new FormatError(
        `${path}:${lineNo}: no string "${field}" field: each line must be an object like {"${field}": "..."}`,
      );
    }
    const rid = rec?.id;
    const id = typeof rid === "string" || typeof rid === "number" ? `${name}:${rid}` : `${name}:${lineNo}`;
    yield { id, text, bytes };
  }
}
