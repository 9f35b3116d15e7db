// Translates the Oniguruma regexes of tokenizer.json Split pre-tokenizers into JavaScript `u`
// regexes: Unicode \s \d \w, (?i:...) groups over ASCII letters (Node 20 lacks modifiers),
// possessive quantifiers read as greedy, identity escapes. Not a general Oniguruma engine.
import { FormatError } from "../../errors.js";

const WORD = "\\p{L}\\p{M}\\p{Nd}\\p{Pc}";
const OUTSIDE: Record<string, string> = {
  s: "\\p{White_Space}",
  S: "\\P{White_Space}",
  d: "\\p{Nd}",
  D: "\\P{Nd}",
  w: `[${WORD}]`,
  W: `[^${WORD}]`,
};
const INSIDE: Record<string, string> = {
  s: "\\p{White_Space}",
  S: "\\P{White_Space}",
  d: "\\p{Nd}",
  w: WORD,
};
const SYNTAX = new Set("^$\\.*+?()[]{}|/-".split(""));

export function translateOnigRegex(src: string): string {
  let out = "";
  let inClass = 0;
  // Depth stack of open groups; true where the group is (?i: ... ).
  const groups: boolean[] = [];
  const caseless = () => groups.includes(true);
  for (let i = 0; i < src.length; i++) {
    const ch = src[i]!;
    if (ch === "\\") {
      const e = src[i + 1];
      if (e === undefined) throw new FormatError(`regex ${JSON.stringify(src)} ends with a lone backslash`);
      i++;
      if (e === "p" || e === "P" || e === "x" || e === "u") {
        // \p{..}, \x{..}/\xHH, \uHHHH pass through whole (a braced \x{...} becomes \u{...}), so
        // a "}" met later in the loop is always a quantifier's.
        const close = src[i + 1] === "{" ? src.indexOf("}", i) : -1;
        const body = close > 0 ? src.slice(i + 1, close + 1) : "";
        out += `\\${e === "x" && body ? "u" : e}${body}`;
        if (close > 0) i = close;
        continue;
      }
      const table = inClass ? INSIDE : OUTSIDE;
      if (table[e] !== undefined) out += table[e];
      else if (inClass && e === "W")
        throw new FormatError(`regex ${JSON.stringify(src)}: \\W inside [] is unsupported`);
      else if (/[A-Za-z0-9]/.test(e)) out += `\\${e}`;
      else if (SYNTAX.has(e)) out += `\\${e}`;
      else out += e;
      continue;
    }
    if (inClass) {
      if (ch === "[") inClass++;
      if (ch === "]") inClass--;
      out += ch;
      continue;
    }
    if (ch === "[") {
      inClass = 1;
      out += ch;
      if (src[i + 1] === "^") {
        out += "^";
        i++;
      }
      if (src[i + 1] === "]") {
        out += "\\]";
        i++;
      }
      continue;
    }
    if (ch === "(") {
      if (src.startsWith("(?i:", i)) {
        groups.push(true);
        out += "(?:";
        i += 3;
        continue;
      }
      groups.push(false);
      out += ch;
      continue;
    }
    if (ch === ")") {
      groups.pop();
      out += ch;
      continue;
    }
    if ((ch === "+" || ch === "*" || ch === "?" || ch === "}") && src[i + 1] === "+") {
      out += ch; // possessive: read as greedy
      i++;
      continue;
    }
    if (caseless() && /[A-Za-z]/.test(ch)) {
      out += `[${ch.toLowerCase()}${ch.toUpperCase()}]`;
      continue;
    }
    out += ch;
  }
  try {
    new RegExp(out, "gu");
  } catch (e) {
    throw new FormatError(`regex ${JSON.stringify(src)} cannot run in JavaScript: ${(e as Error).message}`);
  }
  return out;
}
