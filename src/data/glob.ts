// Minimal file-name globs for corpus folders: `*`, `?`, `**`, `{a,b}`. A pattern without "/" is
// matched against the base name ("*.py"), one with "/" against the path relative to the folder
// ("docs/**/*.md"). Comma-separated lists mean "any of".
export function globToRegExp(pattern: string): RegExp {
  let re = "";
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") {
      if (pattern[i + 1] === "*") {
        re += pattern[i + 2] === "/" ? "(?:.*/)?" : ".*";
        i += pattern[i + 2] === "/" ? 2 : 1;
      } else re += "[^/]*";
    } else if (c === "?") re += "[^/]";
    else if (c === "{") {
      re += "(?:";
      braces++;
    } else if (c === "}" && braces > 0) {
      re += ")";
      braces--;
    } else if (c === "," && braces > 0) re += "|";
    else re += c.replace(/[.+^$(){}|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

/** Splits "a,b" lists (outside braces) and trims; empty entries are dropped. */
export function splitGlobList(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of list) {
    if (c === "{") depth++;
    if (c === "}") depth--;
    if (c === "," && depth === 0) {
      out.push(cur.trim());
      cur = "";
    } else cur += c;
  }
  out.push(cur.trim());
  return out.filter((s) => s.length > 0);
}

/** A predicate over relative paths ("a/b/c.py"): true when any pattern matches. */
export function globMatcher(patterns: readonly string[]): (relPath: string) => boolean {
  const compiled = patterns.map((p) => ({ re: globToRegExp(p), onPath: p.includes("/") }));
  return (rel) => {
    const base = rel.slice(rel.lastIndexOf("/") + 1);
    return compiled.some(({ re, onPath }) => re.test(onPath ? rel : base));
  };
}
