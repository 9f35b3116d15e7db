// The text side of a byte-level BPE tokenizer.json: added-token splitting, normalizers and
// pre-tokenizers (ByteLevel, Split, Sequence), built from the file's components. Pieces stay raw
// text here; bpe-tokenizer.ts maps them to bytes and runs the model. Unknown components throw.
import { FormatError } from "../../errors.js";
import type { HfAddedToken, HfComponent } from "../../io/tokenizer-json.js";
import { forEachSplit, gpt2Regex } from "./byte-level.js";
import { translateOnigRegex } from "./onig-regex.js";

export type Normalize = (text: string) => string;
/** Splits a piece into smaller pieces, handing each to `emit` in order (no arrays built). */
export type PreTokenize = (piece: string, emit: (piece: string) => void) => void;

type Comp = NonNullable<HfComponent>;

export function buildNormalizer(c: HfComponent): Normalize {
  if (!c) return (t) => t;
  switch (c.type) {
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD": {
      const form = c.type;
      return (t) => t.normalize(form);
    }
    case "Lowercase":
      return (t) => t.toLowerCase();
    case "Sequence": {
      const parts = ((c as Comp & { normalizers?: Comp[] }).normalizers ?? []).map(buildNormalizer);
      return (t) => parts.reduce((acc, f) => f(acc), t);
    }
    default:
      throw new FormatError(
        `normalizer ${JSON.stringify(c.type)} is not supported: byte-level BPE files use none, NFC/NFD/NFKC/NFKD or Lowercase`,
      );
  }
}

/** Builds the pre-tokenizer; throws unless it contains a ByteLevel step (we need byte-level BPE). */
export function buildPreTokenizer(c: HfComponent): PreTokenize {
  const steps = flatten(c);
  if (!steps.some((s) => s.type === "ByteLevel")) {
    throw new FormatError(
      `pre_tokenizer ${JSON.stringify(c?.type ?? null)} has no ByteLevel step: only byte-level BPE tokenizers are supported`,
    );
  }
  // Chain the steps: step k emits into step k+1, the last one into the caller's emit.
  const fns = steps.map(buildStep);
  return fns.reduceRight<PreTokenize>(
    (inner, step) => (piece, emit) => step(piece, (p) => inner(p, emit)),
    (piece, emit) => emit(piece),
  );
}

function flatten(c: HfComponent): Comp[] {
  if (!c) return [];
  if (c.type === "Sequence")
    return ((c as Comp & { pretokenizers?: Comp[] }).pretokenizers ?? []).flatMap(flatten);
  return [c];
}

function buildStep(c: Comp): PreTokenize {
  if (c.type === "ByteLevel") {
    const addPrefixSpace = (c as { add_prefix_space?: boolean }).add_prefix_space ?? false;
    const useRegex = (c as { use_regex?: boolean }).use_regex ?? true;
    const re = gpt2Regex();
    return (p, emit) => {
      const s = addPrefixSpace && !p.startsWith(" ") ? ` ${p}` : p;
      if (useRegex) forEachSplit(s, re, emit);
      else emit(s);
    };
  }
  if (c.type === "Split") {
    const sc = c as { pattern?: { Regex?: string; String?: string }; behavior?: string; invert?: boolean };
    if (sc.invert) throw new FormatError("Split pre-tokenizer with invert=true is not supported");
    const behavior = sc.behavior ?? "Isolated";
    if (behavior !== "Isolated" && behavior !== "Removed") {
      throw new FormatError(
        `Split behavior ${JSON.stringify(behavior)} is not supported (Isolated, Removed are)`,
      );
    }
    const source =
      sc.pattern?.Regex !== undefined
        ? translateOnigRegex(sc.pattern.Regex)
        : escapeRegex(sc.pattern?.String ?? "");
    const re = new RegExp(source, "gu");
    return (p, emit) => {
      if (behavior === "Isolated") forEachSplit(p, re, emit);
      else for (const x of p.split(re)) if (x.length > 0) emit(x);
    };
  }
  if (c.type === "Digits") {
    const individual = (c as { individual_digits?: boolean }).individual_digits ?? false;
    const re = individual ? /\p{Nd}/gu : /\p{Nd}+/gu;
    return (p, emit) => forEachSplit(p, re, emit);
  }
  throw new FormatError(
    `pre-tokenizer ${JSON.stringify(c.type)} is not supported (ByteLevel, Split, Digits, Sequence are)`,
  );
}

export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/** A piece of input: plain text to tokenize, or an added token already resolved to its id. */
export type Segment = string | number;

/**
 * Splits text around added tokens (leftmost-longest, like HF's Aho-Corasick matcher); lstrip and
 * rstrip tokens absorb the whitespace beside them. `single_word` is not honoured.
 */
export function buildAddedSplitter(added: readonly HfAddedToken[]): (text: string) => Segment[] {
  if (added.length === 0) return (t) => [t];
  const sorted = [...added].sort((a, b) => b.content.length - a.content.length);
  const byContent = new Map(sorted.map((t) => [t.content, t.id]));
  const alts = sorted.map(
    (t) =>
      `${t.lstrip ? "\\p{White_Space}*" : ""}(${escapeRegex(t.content)})${t.rstrip ? "\\p{White_Space}*" : ""}`,
  );
  const re = new RegExp(alts.join("|"), "gu");
  return (text) => {
    const out: Segment[] = [];
    let last = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m.index > last) out.push(text.slice(last, m.index));
      const content = m.slice(1).find((g) => g !== undefined)!;
      out.push(byContent.get(content)!);
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  };
}
