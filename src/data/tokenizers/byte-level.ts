// GPT-2 byte-level building blocks shared by every tokenizer here: the reversible bytes<->unicode
// map (each byte 0..255 becomes one printable char, e.g. space -> "Ġ") and the GPT-2
// pre-tokenization regex. No vocabulary and no merges live here.

/** byteToChar[b]: the printable char GPT-2 uses for byte b (identity for printable Latin-1). */
export const byteToChar: readonly string[] = buildByteToChar();
/** charToByte: the inverse of byteToChar. */
export const charToByte: ReadonlyMap<string, number> = new Map(byteToChar.map((c, b) => [c, b]));

function buildByteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const out: string[] = new Array(256);
  const isPrintable = new Set(printable);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    out[b] = String.fromCharCode(isPrintable.has(b) ? b : 256 + extra++);
  }
  return out;
}

/**
 * The GPT-2 pre-tokenization pattern, as the Rust `tokenizers` crate runs it (Oniguruma): `\s` is
 * the Unicode White_Space property there (it includes U+0085 and excludes U+FEFF, unlike JS `\s`).
 */
export const GPT2_PATTERN_SOURCE =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\p{White_Space}\\p{L}\\p{N}]+" +
  "|\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+";

/** A fresh global regex for GPT-2 pre-tokenization (regexes with /g carry state: one per user). */
export function gpt2Regex(): RegExp {
  return new RegExp(GPT2_PATTERN_SOURCE, "gu");
}

/**
 * Splits `text` with a /g regex, HF "Isolated" behaviour: each match is a piece and so is each
 * non-empty gap between matches (the GPT-2 pattern matches everything, so it has no gaps).
 */
export function forEachSplit(text: string, re: RegExp, emit: (piece: string) => void): void {
  re.lastIndex = 0;
  let last = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const s = m[0];
    if (s.length === 0) {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) emit(text.slice(last, m.index));
    emit(s);
    last = m.index + s.length;
  }
  if (last < text.length) emit(text.slice(last));
}

/** forEachSplit collected into an array. */
export function splitWithRegex(text: string, re: RegExp): string[] {
  const out: string[] = [];
  forEachSplit(text, re, (p) => out.push(p));
  return out;
}

/** The byte-level string of `piece`: its UTF-8 bytes, each mapped through byteToChar. */
export function toByteLevel(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += byteToChar[bytes[i]!]!;
  return s;
}

const decoder = new TextDecoder("utf-8", { fatal: false });
/** Decodes UTF-8 replacing invalid sequences with U+FFFD (as Rust's from_utf8_lossy does). */
export function utf8Lossy(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
