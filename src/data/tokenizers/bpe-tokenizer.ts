// A byte-level BPE tokenizer built from a Hugging Face tokenizer.json (GPT-2, GPT-NeoX, Llama 3,
// Qwen style): added tokens -> normalizer -> pre-tokenizer -> bytes -> BPE merges, encoding and
// decoding as HF does (no post-processor: no BOS/EOS are added). Pieces are cached per tokenizer.
import { FormatError } from "../../errors.js";
import { type HfTokenizerJson, mergePairs } from "../../io/tokenizer-json.js";
import { charToByte, utf8Lossy } from "./byte-level.js";
import { BpeModel } from "./bpe-model.js";
import {
  buildAddedSplitter,
  buildNormalizer,
  buildPreTokenizer,
  type PreTokenize,
  type Segment,
} from "./pipeline.js";
import { ENDOFTEXT, type TextTokenizer, type TokenizerKind, type TokenizerSpec } from "./types.js";

const CACHE_LIMIT = 200_000;
const utf8 = new TextEncoder();

export interface BpeTokenizerOptions {
  kind?: Exclude<TokenizerKind, "bytes">;
  /** The token placed between documents; default <|endoftext|> when present, else none. */
  eotToken?: string | null;
}

export class BpeTokenizer implements TextTokenizer {
  readonly kind: Exclude<TokenizerKind, "bytes">;
  readonly vocabSize: number;
  readonly eotId: number | null;
  readonly model: BpeModel;
  private readonly json: HfTokenizerJson;
  private readonly split: (text: string) => Segment[];
  private readonly normalize: (t: string) => string;
  private readonly preTokenize: PreTokenize;
  private readonly addedById = new Map<number, string>();
  private readonly addedByContent = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();

  constructor(json: HfTokenizerJson, opts: BpeTokenizerOptions = {}) {
    this.json = json;
    this.kind = opts.kind ?? "hf";
    const m = json.model;
    if (m.dropout) throw new FormatError(`BPE dropout ${m.dropout} is not supported: set it to null`);
    if (m.continuing_subword_prefix || m.end_of_word_suffix) {
      throw new FormatError(
        "BPE continuing_subword_prefix/end_of_word_suffix are not supported in byte-level BPE",
      );
    }
    this.model = new BpeModel({
      vocab: m.vocab,
      merges: mergePairs(m),
      ignoreMerges: m.ignore_merges ?? false,
    });
    for (const t of json.added_tokens) {
      this.addedById.set(t.id, t.content);
      this.addedByContent.set(t.content, t.id);
    }
    this.split = buildAddedSplitter(json.added_tokens);
    this.normalize = buildNormalizer(json.normalizer);
    this.preTokenize = buildPreTokenizer(json.pre_tokenizer);
    let max = -1;
    for (const id of Object.values(m.vocab)) max = Math.max(max, id);
    for (const t of json.added_tokens) max = Math.max(max, t.id);
    this.vocabSize = max + 1;
    const eot = opts.eotToken === undefined ? ENDOFTEXT : opts.eotToken;
    if (eot === null) this.eotId = null;
    else {
      const id = this.tokenToId(eot);
      if (id === undefined && opts.eotToken !== undefined) {
        throw new FormatError(
          `end-of-text token ${JSON.stringify(eot)} is not in the tokenizer: pick one it has`,
        );
      }
      this.eotId = id ?? null;
    }
  }

  tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token) ?? this.model.vocab.get(token);
  }

  encode(text: string): number[] {
    const out: number[] = [];
    const emit = (piece: string) => this.encodePiece(piece, out);
    for (const seg of this.split(text)) {
      if (typeof seg === "number") out.push(seg);
      else this.preTokenize(this.normalize(seg), emit);
    }
    return out;
  }

  private encodePiece(piece: string, out: number[]): void {
    const hit = this.cache.get(piece);
    if (hit) {
      for (let i = 0; i < hit.length; i++) out.push(hit[i]!);
      return;
    }
    const ids: number[] = [];
    this.model.encodeBytes(utf8.encode(piece), ids);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, ids);
    for (let i = 0; i < ids.length; i++) out.push(ids[i]!);
  }

  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      const tok = this.addedById.get(id) ?? this.model.idToToken[id];
      if (tok === undefined)
        throw new FormatError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
      // HF ByteLevel decoder: map every char back to its byte; a token with an unmappable char
      // (an added token like "<unk>" with non-byte chars) contributes its raw UTF-8 instead.
      const start = bytes.length;
      let ok = true;
      for (const ch of tok) {
        const b = charToByte.get(ch);
        if (b === undefined) {
          ok = false;
          break;
        }
        bytes.push(b);
      }
      if (!ok) {
        bytes.length = start;
        for (const b of utf8.encode(tok)) bytes.push(b);
      }
    }
    return utf8Lossy(Uint8Array.from(bytes));
  }

  toHfJson(): HfTokenizerJson {
    return this.json;
  }

  spec(): TokenizerSpec {
    return { kind: this.kind, json: this.json };
  }
}
