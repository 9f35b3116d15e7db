// Trains a byte-level BPE (GPT-2 style) on text: count GPT-2 pre-tokens, then repeatedly merge the
// most frequent adjacent pair (ties: smallest ids first), updating pair counts incrementally only
// in the words that hold the merged pair, with a lazy max-heap. Deterministic for a given input.
// Ids: 0..255 are the bytes, merges follow, special tokens come last (GPT-2's layout).
import { ConfigError } from "../../errors.js";
import { byteToChar, forEachSplit, gpt2Regex } from "./byte-level.js";
import { BpeTokenizer } from "./bpe-tokenizer.js";
import { byteLevelTokenizerJson } from "./hf-json-build.js";
import { ENDOFTEXT } from "./types.js";

/** Accumulates pre-token counts over many texts (the only pass over the corpus training needs). */
export class PieceCounter {
  readonly counts = new Map<string, number>();
  /** UTF-16 code units seen (a size measure for caps and progress). */
  chars = 0;
  private readonly re = gpt2Regex();
  add(text: string): void {
    this.chars += text.length;
    const counts = this.counts;
    forEachSplit(text, this.re, (p) => counts.set(p, (counts.get(p) ?? 0) + 1));
  }
}

export interface TrainBpeOptions {
  counts: ReadonlyMap<string, number>;
  /** Target vocabulary size including the 256 bytes and the special tokens. */
  vocabSize: number;
  specials?: string[];
  /** Stop when the best pair occurs fewer times than this (default 2). */
  minFrequency?: number;
}

export interface TrainBpeResult {
  tokenizer: BpeTokenizer;
  merges: number;
}

const utf8 = new TextEncoder();

export function trainBpe(opts: TrainBpeOptions): TrainBpeResult {
  const specials = opts.specials ?? [ENDOFTEXT];
  const target = opts.vocabSize - specials.length;
  if (target < 256) {
    throw new ConfigError(
      `vocab ${opts.vocabSize} is too small: byte-level BPE needs >= ${256 + specials.length}`,
    );
  }
  const K = Math.max(target, 257); // pair key = a * K + b
  const minFrequency = opts.minFrequency ?? 2;
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [piece, f] of opts.counts) {
    const b = utf8.encode(piece);
    if (b.length < 2) continue;
    words.push(Array.from(b));
    freq.push(f);
  }
  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  const note = (key: number, w: number) => {
    const list = where.get(key);
    if (!list) where.set(key, [w]);
    else if (list[list.length - 1] !== w) list.push(w);
  };
  words.forEach((s, w) => {
    for (let i = 0; i + 1 < s.length; i++) {
      const key = s[i]! * K + s[i + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + freq[w]!);
      note(key, w);
    }
  });
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  const tokens: string[] = byteToChar.slice();
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  const merges: Array<[string, string]> = [];
  const stamp = new Int32Array(words.length).fill(-1);
  while (tokens.length < target && heap.size > 0) {
    const { count, key } = heap.pop();
    const cur = pairCount.get(key) ?? 0;
    if (cur !== count) {
      if (cur > 0) heap.push(cur, key);
      continue;
    }
    if (count < minFrequency) break;
    const a = Math.floor(key / K);
    const b = key - a * K;
    const str = tokens[a]! + tokens[b]!;
    let id = idOf.get(str);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(str);
      idOf.set(str, id);
    }
    merges.push([tokens[a]!, tokens[b]!]);
    const touched = new Set<number>();
    for (const w of where.get(key) ?? []) {
      if (stamp[w] === merges.length) continue;
      stamp[w] = merges.length;
      applyMerge({ words, w, a, b, id, f: freq[w]!, K, pairCount, touched, note });
    }
    where.delete(key);
    pairCount.delete(key);
    for (const k of touched) {
      const c = pairCount.get(k) ?? 0;
      if (c > 0) heap.push(c, k);
    }
  }
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => {
    vocab[t] = i;
  });
  const json = byteLevelTokenizerJson({
    vocab,
    merges,
    specials: specials.map((content, i) => ({ content, id: tokens.length + i })),
  });
  return { tokenizer: new BpeTokenizer(json, { kind: "bpe" }), merges: merges.length };
}

interface MergeArgs {
  words: number[][];
  w: number;
  a: number;
  b: number;
  id: number;
  f: number;
  K: number;
  pairCount: Map<number, number>;
  touched: Set<number>;
  note: (key: number, w: number) => void;
}

/** Replaces (a, b) by id in word w, moving its pair counts; new pairs (holding id) are noted. */
function applyMerge({ words, w, a, b, id, f, K, pairCount, touched, note }: MergeArgs): void {
  const s = words[w]!;
  let found = false;
  for (let i = 0; i + 1 < s.length; i++) {
    if (s[i] === a && s[i + 1] === b) {
      found = true;
      break;
    }
  }
  if (!found) return;
  for (let i = 0; i + 1 < s.length; i++) {
    const k = s[i]! * K + s[i + 1]!;
    const c = pairCount.get(k)! - f;
    if (c > 0) pairCount.set(k, c);
    else pairCount.delete(k);
  }
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === a && s[i + 1] === b && i + 1 < s.length) {
      out.push(id);
      i++;
    } else out.push(s[i]!);
  }
  words[w] = out;
  for (let i = 0; i + 1 < out.length; i++) {
    const k = out[i]! * K + out[i + 1]!;
    pairCount.set(k, (pairCount.get(k) ?? 0) + f);
    if (out[i] === id || out[i + 1] === id) {
      touched.add(k);
      note(k, w);
    }
  }
}

/** Max-heap of (count, key): larger count first, then smaller key (deterministic ties). */
class PairHeap {
  private c: number[] = [];
  private k: number[] = [];
  get size(): number {
    return this.c.length;
  }
  private above(i: number, j: number): boolean {
    const ci = this.c[i]!;
    const cj = this.c[j]!;
    return ci > cj || (ci === cj && this.k[i]! < this.k[j]!);
  }
  private swap(i: number, j: number): void {
    const c = this.c[i]!;
    const k = this.k[i]!;
    this.c[i] = this.c[j]!;
    this.k[i] = this.k[j]!;
    this.c[j] = c;
    this.k[j] = k;
  }
  push(count: number, key: number): void {
    this.c.push(count);
    this.k.push(key);
    let i = this.c.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): { count: number; key: number } {
    const top = { count: this.c[0]!, key: this.k[0]! };
    const lc = this.c.pop()!;
    const lk = this.k.pop()!;
    const n = this.c.length;
    if (n > 0) {
      this.c[0] = lc;
      this.k[0] = lk;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const m = l + 1 < n && this.above(l + 1, l) ? l + 1 : l;
        if (!this.above(m, i)) break;
        this.swap(m, i);
        i = m;
      }
    }
    return top;
  }
}
