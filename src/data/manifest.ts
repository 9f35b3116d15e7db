// manifest.json of a shard folder: what was tokenized (sources with sizes and hashes), with which
// tokenizer (file, kind, vocab size, end-of-text id), the splits and their shard files, and the
// options used. Validated with zod on read; written last so a folder with a manifest is complete.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { FormatError } from "../errors.js";

export const MANIFEST_FORMAT = "crosslayer-shards";
export const MANIFEST_VERSION = 1;

const shardInfo = z.object({ file: z.string(), tokens: z.number().int().nonnegative(), sha256: z.string() });
const splitInfo = z.object({
  documents: z.number().int().nonnegative(),
  tokens: z.number().int().nonnegative(),
  shards: z.array(shardInfo),
});

export const shardManifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  createdAt: z.string(),
  /** Token dtype of every shard: uint16 when vocabSize <= 65536, else uint32; little-endian. */
  dtype: z.enum(["uint16", "uint32"]),
  tokenizer: z.object({
    file: z.string(),
    kind: z.enum(["bytes", "bpe", "gpt2", "hf"]),
    vocabSize: z.number().int().positive(),
    eotId: z.number().int().nonnegative().nullable(),
    sha256: z.string(),
    /** What the user asked for: "bytes", "gpt2", "bpe", or the path of the tokenizer.json read. */
    from: z.string(),
  }),
  sources: z.array(
    z.object({
      kind: z.enum(["brown", "file", "folder", "jsonl"]),
      path: z.string(),
      documents: z.number().int().nonnegative(),
      bytes: z.number().int().nonnegative(),
      /** sha256 over (id, NUL, text, NUL) of every document read, in order. */
      sha256: z.string(),
    }),
  ),
  split: z.object({ method: z.literal("sha256-of-document-id"), valFraction: z.number().min(0).max(1) }),
  splits: z.object({ train: splitInfo, val: splitInfo }),
  options: z.record(z.string(), z.unknown()),
});

export type ShardManifest = z.infer<typeof shardManifestSchema>;
export type ShardInfo = z.infer<typeof shardInfo>;
export type SplitInfo = z.infer<typeof splitInfo>;

export function readManifest(dir: string): ShardManifest {
  const path = join(dir, "manifest.json");
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new FormatError(
      `cannot read ${path} (${(e as Error).message}): build shards first with \`crosslayer data ... --out ${dir}\``,
    );
  }
  const r = shardManifestSchema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new FormatError(
      `${path}: not a crosslayer shard manifest (${issue?.path.join(".")}: ${issue?.message})`,
    );
  }
  return r.data;
}

/** Bytes per token of a dtype. */
export function tokenBytes(dtype: ShardManifest["dtype"]): 2 | 4 {
  return dtype === "uint16" ? 2 : 4;
}
