// The byte tokenizer: id = UTF-8 byte (0..255), then optional special tokens (default
// <|endoftext|> = 256). Exactly a byte-level BPE with no merges, so it saves as a tokenizer.json
// that HF tools load with the same ids. Special tokens written in the text are matched as such.
import { ConfigError, FormatError } from "../../errors.js";
import type { HfTokenizerJson } from "../../io/tokenizer-json.js";
import { byteToChar, utf8Lossy } from "./byte-level.js";
import { byteLevelTokenizerJson } from "./hf-json-build.js";
import { buildAddedSplitter, type Segment } from "./pipeline.js";
import { ENDOFTEXT, type TextTokenizer, type TokenizerSpec } from "./types.js";

const utf8 = new TextEncoder();

export class ByteTokenizer implements TextTokenizer {
  readonly kind = "bytes" as const;
  readonly vocabSize: number;
  readonly eotId: number | null;
  readonly specials: readonly string[];
  private readonly split: (text: string) => Segment[];

  constructor(specials: readonly string[] = [ENDOFTEXT]) {
    if (new Set(specials).size !== specials.length)
      throw new ConfigError(`duplicate special tokens in ${specials}`);
    this.specials = [...specials];
    this.vocabSize = 256 + specials.length;
    const eot = specials.indexOf(ENDOFTEXT);
    this.eotId = eot >= 0 ? 256 + eot : null;
    this.split = buildAddedSplitter(specials.map((content, i) => ({ id: 256 + i, content })));
  }

  encode(text: string): number[] {
    const out: number[] = [];
    for (const seg of this.split(text)) {
      if (typeof seg === "number") out.push(seg);
      else for (const b of utf8.encode(seg)) out.push(b);
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    let text = "";
    let bytes: number[] = [];
    for (let k = 0; k < ids.length; k++) {
      const id = ids[k]!;
      if (id < 256) bytes.push(id);
      else {
        const s = this.specials[id - 256];
        if (s === undefined)
          throw new FormatError(`token id ${id} is outside the vocabulary (size ${this.vocabSize})`);
        text += utf8Lossy(Uint8Array.from(bytes)) + s;
        bytes = [];
      }
    }
    return text + utf8Lossy(Uint8Array.from(bytes));
  }

  tokenToId(token: string): number | undefined {
    const s = this.specials.indexOf(token);
    if (s >= 0) return 256 + s;
    const b = byteToChar.indexOf(token);
    return b >= 0 ? b : undefined;
  }

  toHfJson(): HfTokenizerJson {
    const vocab: Record<string, number> = {};
    byteToChar.forEach((c, b) => {
      vocab[c] = b;
    });
    const specials = this.specials.map((content, i) => ({ content, id: 256 + i }));
    return byteLevelTokenizerJson({ vocab, merges: [], specials });
  }

  spec(): TokenizerSpec {
    return { kind: "bytes", specials: [...this.specials] };
  }
}
