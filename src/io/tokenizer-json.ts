// Hugging Face `tokenizer.json` files: the schema of the parts we use (a BPE model with a
// ByteLevel-family pipeline), reading with validation, and atomic writing. Interpretation
// (encode/decode) lives in src/data/tokenizers/; this file only moves the format.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { FormatError } from "../errors.js";
import { writeFileAtomic } from "./atomic-file.js";

const addedToken = z.looseObject({
  id: z.number().int().nonnegative(),
  content: z.string().min(1),
  single_word: z.boolean().optional(),
  lstrip: z.boolean().optional(),
  rstrip: z.boolean().optional(),
  normalized: z.boolean().optional(),
  special: z.boolean().optional(),
});

/** A pipeline component: `type` plus its fields (checked where it is interpreted). */
const component = z.looseObject({ type: z.string() }).nullable().optional();

const bpeModel = z.looseObject({
  type: z.literal("BPE").optional(),
  dropout: z.number().nullable().optional(),
  unk_token: z.string().nullable().optional(),
  continuing_subword_prefix: z.string().nullable().optional(),
  end_of_word_suffix: z.string().nullable().optional(),
  fuse_unk: z.boolean().optional(),
  byte_fallback: z.boolean().optional(),
  ignore_merges: z.boolean().optional(),
  vocab: z.record(z.string(), z.number().int().nonnegative()),
  // Older files write "a b" strings, newer ones [a, b] pairs.
  merges: z.array(z.union([z.string(), z.tuple([z.string(), z.string()])])),
});

const tokenizerJson = z.looseObject({
  version: z.string().optional(),
  added_tokens: z.array(addedToken).default([]),
  normalizer: component,
  pre_tokenizer: component,
  post_processor: component,
  decoder: component,
  model: bpeModel,
});

export type HfAddedToken = z.infer<typeof addedToken>;
export type HfComponent = z.infer<typeof component>;
export type HfTokenizerJson = z.infer<typeof tokenizerJson>;

/** Validates a parsed tokenizer.json; `where` names the file in errors. */
export function parseTokenizerJson(value: unknown, where = "tokenizer.json"): HfTokenizerJson {
  const model = (value as { model?: { type?: unknown } } | null)?.model;
  if (model && typeof model === "object" && model.type !== undefined && model.type !== "BPE") {
    throw new FormatError(
      `${where}: model type ${JSON.stringify(model.type)} is not supported: only BPE models ` +
        "(GPT-2, GPT-NeoX, Llama 3, Qwen style byte-level BPE) load here",
    );
  }
  const r = tokenizerJson.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue ? issue.path.join(".") : "";
    throw new FormatError(`${where}: not a BPE tokenizer.json (${path || "root"}: ${issue?.message})`);
  }
  return r.data;
}

export function readTokenizerJson(path: string): HfTokenizerJson {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new FormatError(`cannot read tokenizer file ${path}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new FormatError(`${path} is not valid JSON (${(e as Error).message}): pass a tokenizer.json`);
  }
  return parseTokenizerJson(value, path);
}

/** Writes `json` to `path` atomically (temporary file + rename). */
export function writeTokenizerJson(path: string, json: HfTokenizerJson): void {
  writeFileAtomic(path, `${JSON.stringify(json, null, 1)}\n`);
}

/** The merges of a BPE model as [left, right] pairs, whichever form the file used. */
export function mergePairs(model: HfTokenizerJson["model"]): Array<[string, string]> {
  return model.merges.map((m, i) => {
    if (typeof m !== "string") return m;
    const parts = m.split(" ");
    if (parts.length !== 2) {
      throw new FormatError(`merge ${i} ${JSON.stringify(m)} is not of the form "left right"`);
    }
    return [parts[0]!, parts[1]!];
  });
}
