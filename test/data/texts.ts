// Shared test inputs for the data tests: a slice of Brown and hand-picked text that stresses
// pre-tokenization (contractions, digits, whitespace runs, accents, CJK, emoji, code).
import { readCorpus } from "../../src/data/corpus.js";

export async function brownTexts(count: number): Promise<string[]> {
  const out: string[] = [];
  for await (const d of readCorpus({ kind: "brown" })) {
    if (out.length === count) break;
    out.push(d.text);
  }
  return out;
}

export const TRICKY_TEXTS: readonly string[] = [
  "Hello world",
  "It's 2024; they'll say we've done 3.14159 x 10^6 things -- isn't it?",
  "  leading spaces,\ttabs\t\tand\n\n\nnewlines   \n  trailing  ",
  "Café crème, naïve façade, Ærøskøbing, Zürich, São Paulo, Ελληνικά, русский текст.",
  "日本語のテキストと中文文本，还有한국어 텍스트.",
  "Emoji: 🤗🚀👩‍👩‍👧‍👦 and flags 🇫🇷🇯🇵!",
  "def f(x):\n    return {'a': [1, 2, 3], \"b\": x ** 2}  # comment\n\nclass A(B):\n\tpass\n",
  "<|endoftext|>between<|endoftext|> documents <|endoftext|>",
  "tabs\u00a0nbsp\u2003em-space\u3000ideographic space",
];
