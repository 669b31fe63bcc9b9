import type { Random } from "../random.js";

/**
 * Strings that match simple regular expressions, for generating sample values from string
 * schemas (ids such as `^pay_[A-Za-z0-9_-]{16,32}$`). Supports literals, escapes (`\d \w \s
 * \xHH \uHHHH`), character classes with ranges and negation, `.`, groups with alternation,
 * and the quantifiers `? * + {n} {n,} {n,m}`. Lookarounds and back-references are refused.
 */

/** Thrown for a pattern this sampler does not understand. */
export class UnsupportedPatternError extends Error {
  override readonly name = "UnsupportedPatternError";
}

interface Piece {
  readonly node: Node;
  readonly min: number;
  readonly max: number;
}
type Sequence = readonly Piece[];
type Node =
  | { readonly kind: "chars"; readonly chars: readonly string[] }
  | { readonly kind: "group"; readonly alternatives: readonly Sequence[] }
  | { readonly kind: "empty" };

const PRINTABLE = range(0x21, 0x7e);
const DIGITS = range(0x30, 0x39);
const WORD = [...range(0x41, 0x5a), ...range(0x61, 0x7a), ...DIGITS, "_"];
const SPACES = [" "];
/** How many repetitions past the minimum an unbounded quantifier may add. */
const UNBOUNDED_EXTRA = 3;

/** Parsed patterns by source: schemas are few, samples many. */
const PARSED = new Map<string, Sequence>();

/** A string matching `pattern`, drawn with `random`; throws {@link UnsupportedPatternError}. */
export function sampleRegex(pattern: RegExp, random: Random): string {
  let parsed = PARSED.get(pattern.source);
  if (parsed === undefined) {
    parsed = new Parser(pattern.source).parse();
    PARSED.set(pattern.source, parsed);
  }
  for (let attempt = 0; attempt < 20; attempt++) {
    const text = generate(parsed, random);
    pattern.lastIndex = 0;
    if (pattern.test(text)) return text;
  }
  throw new UnsupportedPatternError(`no sample of /${pattern.source}/ matched it`);
}

function generate(sequence: Sequence, random: Random): string {
  let out = "";
  for (const piece of sequence) {
    const count = piece.min + Math.floor(random() * (piece.max - piece.min + 1));
    for (let i = 0; i < count; i++) out += generateNode(piece.node, random);
  }
  return out;
}

function generateNode(node: Node, random: Random): string {
  switch (node.kind) {
    case "chars":
      return node.chars[Math.floor(random() * node.chars.length)] ?? "";
    case "group": {
      const alternative = node.alternatives[Math.floor(random() * node.alternatives.length)];
      return alternative === undefined ? "" : generate(alternative, random);
    }
    case "empty":
      return "";
  }
}

class Parser {
  #at = 0;
  constructor(readonly source: string) {}

  parse(): Sequence {
    const alternatives = this.#alternatives();
    if (this.#at < this.source.length) this.#fail(`unexpected ${this.source[this.#at]}`);
    return alternatives.length === 1
      ? (alternatives[0] ?? [])
      : [{ node: { kind: "group", alternatives }, min: 1, max: 1 }];
  }

  #alternatives(): Sequence[] {
    const alternatives: Sequence[] = [this.#sequence()];
    while (this.source[this.#at] === "|") {
      this.#at++;
      alternatives.push(this.#sequence());
    }
    return alternatives;
  }

  #sequence(): Sequence {
    const pieces: Piece[] = [];
    for (;;) {
      const c = this.source[this.#at];
      if (c === undefined || c === "|" || c === ")") return pieces;
      const node = this.#atom();
      const [min, max] = this.#quantifier();
      pieces.push({ node, min, max });
    }
  }

  #atom(): Node {
    const c = this.source[this.#at++];
    switch (c) {
      case "^":
      case "$":
        return { kind: "empty" };
      case ".":
        return { kind: "chars", chars: WORD };
      case "[":
        return this.#class();
      case "(": {
        if (this.source.startsWith("?:", this.#at)) this.#at += 2;
        else if (this.source.startsWith("?<", this.#at) && !/^\?<[=!]/.test(this.source.slice(this.#at))) {
          const end = this.source.indexOf(">", this.#at);
          if (end === -1) this.#fail("unterminated group name");
          this.#at = end + 1;
        } else if (this.source[this.#at] === "?") this.#fail("lookarounds are not supported");
        const alternatives = this.#alternatives();
        if (this.source[this.#at++] !== ")") this.#fail("unterminated group");
        return { kind: "group", alternatives };
      }
      case "\\":
        return this.#escape(false);
      case undefined:
      case "*":
      case "+":
      case "?":
      case "{":
        return this.#fail(`nothing to repeat before ${c ?? "the end"}`);
      default:
        return { kind: "chars", chars: [c] };
    }
  }

  #escape(inClass: boolean): Node & { kind: "chars" | "empty" } {
    const c = this.source[this.#at++];
    switch (c) {
      case "d":
        return { kind: "chars", chars: DIGITS };
      case "w":
        return { kind: "chars", chars: WORD };
      case "s":
        return { kind: "chars", chars: SPACES };
      case "D":
        return { kind: "chars", chars: PRINTABLE.filter((x) => !DIGITS.includes(x)) };
      case "W":
        return { kind: "chars", chars: PRINTABLE.filter((x) => !WORD.includes(x)) };
      case "S":
        return { kind: "chars", chars: PRINTABLE };
      case "b":
      case "B":
        if (inClass) return { kind: "chars", chars: ["\b"] };
        return { kind: "empty" };
      case "n":
        return { kind: "chars", chars: ["\n"] };
      case "t":
        return { kind: "chars", chars: ["\t"] };
      case "x":
        return { kind: "chars", chars: [this.#hex(2)] };
      case "u":
        return { kind: "chars", chars: [this.#hex(4)] };
      case undefined:
        return this.#fail("a pattern may not end with \\");
      default:
        if (/[1-9k]/.test(c)) this.#fail("back-references are not supported");
        if (/[A-Za-z0-9]/.test(c)) this.#fail(`unknown escape \\${c}`);
        return { kind: "chars", chars: [c] };
    }
  }

  #hex(digits: number): string {
    const text = this.source.slice(this.#at, this.#at + digits);
    if (!new RegExp(`^[0-9a-fA-F]{${digits}}$`).test(text)) this.#fail("bad hexadecimal escape");
    this.#at += digits;
    return String.fromCharCode(Number.parseInt(text, 16));
  }

  #class(): Node {
    const negated = this.source[this.#at] === "^";
    if (negated) this.#at++;
    const set = new Set<string>();
    let first = true;
    for (;;) {
      const c = this.source[this.#at];
      if (c === undefined) this.#fail("unterminated character class");
      if (c === "]" && !first) {
        this.#at++;
        break;
      }
      first = false;
      const low = this.#classChar();
      if (this.source[this.#at] === "-" && this.source[this.#at + 1] !== "]" && low.length === 1) {
        this.#at++;
        const high = this.#classChar();
        const [from, to] = [low[0]?.charCodeAt(0) ?? 0, high[0]?.charCodeAt(0) ?? 0];
        if (high.length !== 1 || to < from) this.#fail("bad range in a character class");
        for (const x of range(from, Math.min(to, from + 0xffff))) set.add(x);
      } else {
        for (const x of low) set.add(x);
      }
    }
    const chars = negated ? PRINTABLE.filter((x) => !set.has(x)) : [...set];
    if (chars.length === 0) this.#fail("empty character class");
    return { kind: "chars", chars };
  }

  #classChar(): readonly string[] {
    const c = this.source[this.#at++];
    if (c === "\\") {
      const node = this.#escape(true);
      return node.kind === "chars" ? node.chars : [];
    }
    return c === undefined ? [] : [c];
  }

  #quantifier(): [number, number] {
    const c = this.source[this.#at];
    let bounds: [number, number];
    if (c === "?") bounds = [0, 1];
    else if (c === "*") bounds = [0, UNBOUNDED_EXTRA];
    else if (c === "+") bounds = [1, 1 + UNBOUNDED_EXTRA];
    else if (c === "{") {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.#at));
      if (match === null) return [1, 1]; // a literal "{"
      const min = Number(match[1]);
      const max = match[2] === undefined ? min : match[3] === "" ? min + UNBOUNDED_EXTRA : Number(match[3]);
      this.#at += match[0].length - 1;
      bounds = [min, max];
    } else return [1, 1];
    this.#at++;
    if (this.source[this.#at] === "?") this.#at++; // lazy: same strings
    return bounds;
  }

  #fail(message: string): never {
    throw new UnsupportedPatternError(`/${this.source}/ at ${this.#at}: ${message}`);
  }
}

function range(from: number, to: number): string[] {
  const out: string[] = [];
  for (let code = from; code <= to; code++) out.push(String.fromCharCode(code));
  return out;
}
