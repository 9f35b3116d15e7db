// Streaming text of a growing token list, in O(1) decoding work per token: only a window of the
// last tokens is decoded (from the end of the text streamed before the last chunk), not the whole
// generation each time. A chunk is held back while the window's text ends in U+FFFD (an incomplete
// UTF-8 sequence split across tokens). For the byte-level tokenizers here, decoding a window that
// starts where an earlier chunk ended gives the same characters as decoding everything; the
// concatenated chunks equal the full decode (test/infer/detokenize.test.ts).
import type { TextCodec } from "./types.js";

export class Detokenizer {
  /** Window start: the tokens before it are streamed and never decoded again. */
  private prefix = 0;
  /** Tokens whose text has been streamed. */
  private read = 0;

  constructor(private readonly codec: TextCodec) {}

  /** The new text of `ids` (all tokens so far, grown by at least one since the last call). */
  next(ids: readonly number[]): string {
    const before = this.codec.decode(ids.slice(this.prefix, this.read));
    const now = this.codec.decode(ids.slice(this.prefix));
    if (now.length <= before.length || now.endsWith("\uFFFD")) return "";
    this.prefix = this.read;
    this.read = ids.length;
    return now.slice(before.length);
  }
}
