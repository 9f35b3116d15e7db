// The BPE model of a byte-level tokenizer: vocabulary, merge ranks, and the merge loop applied to
// one pre-token's bytes. The loop is Hugging Face's (tokenizers `Word::merge_all`): repeatedly merge
// the lowest-rank pair, leftmost first, with a heap over (rank, position). No pre-tokenization here.
import { FormatError } from "../../errors.js";
import { byteToChar } from "./byte-level.js";

export interface BpeModelInput {
  vocab: Record<string, number>;
  merges: Array<[string, string]>;
  /** HF `ignore_merges`: a pre-token that is itself in the vocabulary is one token (Llama 3). */
  ignoreMerges?: boolean;
}

const POS_BITS = 2 ** 24; // heap key = rank * POS_BITS + position

export class BpeModel {
  readonly vocab: ReadonlyMap<string, number>;
  readonly idToToken: readonly (string | undefined)[];
  readonly ignoreMerges: boolean;
  /** byteIds[b]: the id of the single-byte token for byte b. */
  private readonly byteIds = new Int32Array(256);
  /** ranks[left].get(right) = merge rank; mergeResult[rank] = id of the merged token. */
  private readonly ranks: Array<Map<number, number> | undefined> = [];
  private readonly mergeResult: Int32Array;
  // Scratch for the merge loop, grown on demand (one model is used by one thread).
  private sym = new Int32Array(64);
  private prev = new Int32Array(64);
  private next = new Int32Array(64);
  private alive = new Uint8Array(64);
  private heap: number[] = [];

  constructor(input: BpeModelInput) {
    this.vocab = new Map(Object.entries(input.vocab));
    const idToToken: (string | undefined)[] = [];
    for (const [tok, id] of this.vocab) idToToken[id] = tok;
    this.idToToken = idToToken;
    this.ignoreMerges = input.ignoreMerges ?? false;
    for (let b = 0; b < 256; b++) {
      const id = this.vocab.get(byteToChar[b]!);
      if (id === undefined) {
        throw new FormatError(
          `vocabulary lacks the byte token ${JSON.stringify(byteToChar[b])} (byte ${b}): ` +
            "only byte-level BPE tokenizers (all 256 byte tokens present) are supported",
        );
      }
      this.byteIds[b] = id;
    }
    this.mergeResult = new Int32Array(input.merges.length);
    input.merges.forEach(([a, b], rank) => {
      const ia = this.vocab.get(a);
      const ib = this.vocab.get(b);
      const ic = this.vocab.get(a + b);
      if (ia === undefined || ib === undefined || ic === undefined) {
        throw new FormatError(
          `merge ${rank} ("${a} ${b}") uses a token missing from the vocabulary: the file is inconsistent`,
        );
      }
      let m = this.ranks[ia];
      if (!m) {
        m = new Map();
        this.ranks[ia] = m;
      }
      if (!m.has(ib)) m.set(ib, rank); // the first (lowest-rank) duplicate wins, as in HF
      this.mergeResult[rank] = ic;
    });
  }

  get mergeCount(): number {
    return this.mergeResult.length;
  }

  private rankOf(a: number, b: number): number {
    return this.ranks[a]?.get(b) ?? -1;
  }

  /** Ids of one pre-token given as UTF-8 bytes; `text` is its byte-level string (for ignoreMerges). */
  encodeBytes(bytes: Uint8Array, out: number[]): void {
    const n = bytes.length;
    if (n === 0) return;
    if (n === 1) {
      out.push(this.byteIds[bytes[0]!]!);
      return;
    }
    if (this.ignoreMerges) {
      let s = "";
      for (let i = 0; i < n; i++) s += byteToChar[bytes[i]!]!;
      const whole = this.vocab.get(s);
      if (whole !== undefined) {
        out.push(whole);
        return;
      }
    }
    if (n >= POS_BITS)
      throw new FormatError(`a pre-token of ${n} bytes is too long to merge (max ${POS_BITS})`);
    this.ensureScratch(n);
    const { sym, prev, next, alive } = this;
    const heap = this.heap;
    heap.length = 0;
    for (let i = 0; i < n; i++) {
      sym[i] = this.byteIds[bytes[i]!]!;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
      alive[i] = 1;
    }
    for (let i = 0; i + 1 < n; i++) {
      const r = this.rankOf(sym[i]!, sym[i + 1]!);
      if (r >= 0) heapPush(heap, r * POS_BITS + i);
    }
    while (heap.length > 0) {
      const top = heapPop(heap);
      const rank = Math.floor(top / POS_BITS);
      const pos = top - rank * POS_BITS;
      if (!alive[pos]) continue;
      const right = next[pos]!;
      if (right < 0) continue;
      if (this.rankOf(sym[pos]!, sym[right]!) !== rank) continue; // stale entry
      sym[pos] = this.mergeResult[rank]!;
      alive[right] = 0;
      const rr = next[right]!;
      next[pos] = rr;
      if (rr >= 0) prev[rr] = pos;
      const p = prev[pos]!;
      if (p >= 0) {
        const r = this.rankOf(sym[p]!, sym[pos]!);
        if (r >= 0) heapPush(heap, r * POS_BITS + p);
      }
      if (rr >= 0) {
        const r = this.rankOf(sym[pos]!, sym[rr]!);
        if (r >= 0) heapPush(heap, r * POS_BITS + pos);
      }
    }
    for (let i = 0; i >= 0; i = next[i]!) out.push(sym[i]!);
  }

  private ensureScratch(n: number): void {
    if (this.sym.length >= n) return;
    const size = Math.max(n, this.sym.length * 2);
    this.sym = new Int32Array(size);
    this.prev = new Int32Array(size);
    this.next = new Int32Array(size);
    this.alive = new Uint8Array(size);
  }
}

function heapPush(h: number[], v: number): void {
  let i = h.length;
  h.push(v);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (h[p]! <= v) break;
    h[i] = h[p]!;
    i = p;
  }
  h[i] = v;
}

function heapPop(h: number[]): number {
  const top = h[0]!;
  const last = h.pop()!;
  const n = h.length;
  if (n > 0) {
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1]! < h[c]!) c++;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
  return top;
}
