/**
 * A matcher for root-relative paths (forward slashes). `*` matches within one path segment,
 * `**` across segments, `?` one character; a pattern without any of them matches that file
 * or everything under that directory (`packages/core/src` ≡ `packages/core/src/**`).
 *
 * @example
 * globMatcher(["packages/core/src"])("packages/core/src/runtime.ts"); // true
 * globMatcher(["src/**\/*.ts"])("src/a/b.ts"); // true
 */
export function globMatcher(patterns: readonly string[]): (path: string) => boolean {
  const expressions = patterns.map(toRegExp);
  return (path) => expressions.some((expression) => expression.test(path));
}

function toRegExp(pattern: string): RegExp {
  const clean = pattern.replace(/^\.\//, "").replace(/\/+$/, "");
  if (!/[*?]/.test(clean)) return new RegExp(`^${escapeRegExp(clean)}(/.*)?$`);
  let source = "";
  for (let i = 0; i < clean.length; i++) {
    const char = clean[i] ?? "";
    if (char === "*" && clean[i + 1] === "*") {
      // `**/` matches zero or more whole segments; a trailing `**` matches the rest.
      if (clean[i + 2] === "/") {
        source += "(?:.*/)?";
        i += 2;
      } else {
        source += ".*";
        i += 1;
      }
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else source += escapeRegExp(char);
  }
  return new RegExp(`^${source}$`);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, "\\$&");
}
