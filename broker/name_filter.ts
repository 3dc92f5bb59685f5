/**
 * Name filters: the regular expressions of `client.list` (docs/PROTOCOL.md
 * §12.3), matched in time linear in the name, never by backtracking.
 *
 * A filter is parsed into a Thompson automaton and run as a set of states
 * over the name's code points (no captures, so no backtracking and no
 * exponential case): a search costs at most (name length × automaton size)
 * steps. {@linkcode selectByName} runs searches in slices and gives the
 * event loop back between slices, so even the largest filter on the longest
 * names (64 KiB) never holds the broker for more than a few milliseconds.
 *
 * The syntax is the part of Rust's `regex` that filters use: literals and
 * escaped punctuation, `.`, classes (`[a-z0-9_]`, `[^.]`, `[[:alpha:]]`,
 * `\d \w \s \D \W \S`, `\p{…}`), groups (`(…)`, `(?:…)`, `(?P<n>…)`,
 * `(?<n>…)`), alternation, the quantifiers `* + ? {n} {n,} {n,m}` (a
 * trailing `?` is accepted), the anchors `^ $ \A \z \b \B` and the flags
 * `i`, `s`, `m` and `U` (`(?i)`, `(?i:…)`). Not supported (refused as a
 * syntax error): class set operations (`&&`, `--`, `~~`), nested classes
 * other than POSIX ones, and the `x` flag.
 *
 * @example Filter names the way `client.list` does (unanchored search)
 * ```ts
 * import assert from "node:assert/strict";
 * import { NameFilter } from "./name_filter.ts";
 * const filter = NameFilter.parse("^sensor\\.(t|h)\\d+$");
 * assert.ok(filter.test("sensor.t12"));
 * assert.ok(!filter.test("sensor.p1"));
 * assert.ok(NameFilter.parse(".*\\.worker\\..*").test("app.worker.3"));
 * assert.ok(!NameFilter.parse("^(a+)+$").test("a".repeat(65534) + "!")); // linear: instant
 * assert.throws(() => NameFilter.parse("(unclosed"), SyntaxError);
 * ```
 *
 * @module
 */

/** Longest filter accepted, in UTF-16 code units. */
export const MAX_FILTER_LENGTH = 4096;
/** Largest automaton a filter may compile to (counted repetitions are expanded). */
export const MAX_FILTER_STATES = 10_000;
/** Largest count of a counted repetition (`{n,m}`). */
export const MAX_REPEAT = 1000;

/** A filter that does not parse, or is too large. */
export class NameFilterError extends SyntaxError {
  /**
   * Creates the error.
   *
   * @param message what is wrong
   */
  constructor(message: string) {
    super(message);
    this.name = "NameFilterError";
  }
}

type CodePointTest = (cp: number) => boolean;

const TEXT_START = 0;
const TEXT_END = 1;
const LINE_START = 2;
const LINE_END = 3;
const WORD_BOUNDARY = 4;
const NOT_WORD_BOUNDARY = 5;

type Node =
  | { kind: "char"; test: CodePointTest }
  | { kind: "assert"; at: number }
  | { kind: "cat"; items: Node[] }
  | { kind: "alt"; items: Node[] }
  | { kind: "repeat"; item: Node; min: number; max: number };

interface Flags {
  i: boolean;
  s: boolean;
  m: boolean;
}

// ---------------------------------------------------------------- code point tests

const NEWLINE = 0x0a;
const WORD_CLASS = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
const PERL_CLASSES: Record<string, string> = {
  d: "\\p{Nd}",
  D: "[^\\p{Nd}]",
  w: `[${WORD_CLASS}]`,
  W: `[^${WORD_CLASS}]`,
  s: "\\p{White_Space}",
  S: "\\P{White_Space}",
};
const POSIX_CLASSES: Record<string, string> = {
  alnum: "0-9A-Za-z",
  alpha: "A-Za-z",
  ascii: "\\u{0}-\\u{7f}",
  blank: "\\u{9}\\u{20}",
  cntrl: "\\u{0}-\\u{1f}\\u{7f}",
  digit: "0-9",
  graph: "\\u{21}-\\u{7e}",
  lower: "a-z",
  print: "\\u{20}-\\u{7e}",
  punct: "\\u{21}-\\u{2f}\\u{3a}-\\u{40}\\u{5b}-\\u{60}\\u{7b}-\\u{7e}",
  space: "\\u{9}-\\u{d}\\u{20}",
  upper: "A-Z",
  word: "0-9A-Za-z_",
  xdigit: "0-9A-Fa-f",
};

/**
 * A test of one code point against a JavaScript character class or
 * property: a single-character regular expression, which cannot backtrack.
 * ASCII answers are cached.
 */
function classTest(source: string, caseless: boolean): CodePointTest {
  let re: RegExp;
  try {
    re = new RegExp(`^${source}$`, caseless ? "vi" : "v");
  } catch (err) {
    throw new NameFilterError(
      `invalid character class ${source}: ${err instanceof Error ? err.message : err}`,
    );
  }
  const ascii = new Int8Array(128).fill(-1);
  return (cp) => {
    if (cp < 128) {
      let known = ascii[cp];
      if (known < 0) known = ascii[cp] = re.test(String.fromCharCode(cp)) ? 1 : 0;
      return known === 1;
    }
    return re.test(String.fromCodePoint(cp));
  };
}

function hexCodePoint(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function literalTest(cp: number, caseless: boolean): CodePointTest {
  const ch = String.fromCodePoint(cp);
  if (caseless && ch.toLowerCase() !== ch.toUpperCase()) return classTest(hexCodePoint(cp), true);
  return (c) => c === cp;
}

const isWordCodePoint = classTest(PERL_CLASSES.w, false);
const anyCodePoint: CodePointTest = () => true;
const notNewline: CodePointTest = (cp) => cp !== NEWLINE;

// ---------------------------------------------------------------- parser

class FilterParser {
  readonly #src: string;
  #pos = 0;

  constructor(src: string) {
    this.#src = src;
  }

  parse(): Node {
    const node = this.#alternation({ i: false, s: false, m: false });
    if (this.#pos < this.#src.length) this.#fail("unopened group");
    return node;
  }

  #fail(what: string): never {
    throw new NameFilterError(`regex parse error at ${this.#pos}: ${what}`);
  }

  #peek(): string | undefined {
    return this.#src[this.#pos];
  }

  #eat(text: string): boolean {
    if (!this.#src.startsWith(text, this.#pos)) return false;
    this.#pos += text.length;
    return true;
  }

  #codePoint(): number {
    const cp = this.#src.codePointAt(this.#pos);
    if (cp === undefined) this.#fail("unexpected end of pattern");
    this.#pos += cp > 0xffff ? 2 : 1;
    return cp;
  }

  /** Flags apply from where they are set to the end of the enclosing group, across its alternatives. */
  #alternation(flags: Flags): Node {
    const items = [this.#concatenation(flags)];
    while (this.#eat("|")) items.push(this.#concatenation(flags));
    return items.length === 1 ? items[0] : { kind: "alt", items };
  }

  #concatenation(flags: Flags): Node {
    const items: Node[] = [];
    for (let c = this.#peek(); c !== undefined && c !== "|" && c !== ")"; c = this.#peek()) {
      const atom = this.#atom(flags);
      if (atom !== null) items.push(this.#quantified(atom));
    }
    return items.length === 1 ? items[0] : { kind: "cat", items };
  }

  #quantified(atom: Node): Node {
    let min: number;
    let max: number;
    const c = this.#peek();
    if (c === "*") [min, max] = [0, Infinity];
    else if (c === "+") [min, max] = [1, Infinity];
    else if (c === "?") [min, max] = [0, 1];
    else if (c === "{") return this.#counted(atom);
    else return atom;
    this.#pos++;
    return this.#endOfRepetition({ kind: "repeat", item: atom, min, max });
  }

  #counted(atom: Node): Node {
    const m = /^\{\s*(\d+)\s*(?:(,)\s*(\d*)\s*)?\}/.exec(this.#src.slice(this.#pos, this.#pos + 32));
    if (m === null) this.#fail("invalid counted repetition");
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) {
      this.#fail(`repetition count above ${MAX_REPEAT}`);
    }
    if (max < min) this.#fail("invalid repetition range");
    this.#pos += m[0].length;
    return this.#endOfRepetition({ kind: "repeat", item: atom, min, max });
  }

  #endOfRepetition(node: Node): Node {
    this.#eat("?"); // non-greedy: the same set of names matches
    const c = this.#peek();
    if (c === "*" || c === "+" || c === "?" || c === "{") this.#fail("nested repetition operator");
    return node;
  }

  #atom(flags: Flags): Node | null {
    const c = this.#peek()!;
    switch (c) {
      case "(":
        return this.#group(flags);
      case "[":
        return { kind: "char", test: classTest(this.#class(), flags.i) };
      case ".":
        this.#pos++;
        return { kind: "char", test: flags.s ? anyCodePoint : notNewline };
      case "^":
        this.#pos++;
        return { kind: "assert", at: flags.m ? LINE_START : TEXT_START };
      case "$":
        this.#pos++;
        return { kind: "assert", at: flags.m ? LINE_END : TEXT_END };
      case "\\":
        return this.#escape(flags);
      case "*":
      case "+":
      case "?":
      case "{":
        this.#fail("repetition operator missing expression");
    }
    return { kind: "char", test: literalTest(this.#codePoint(), flags.i) };
  }

  #group(outer: Flags): Node | null {
    this.#pos++; // (
    let flags = { ...outer };
    if (this.#eat("?")) {
      if (this.#eat("P<") || (this.#peek() === "<" && this.#eat("<"))) {
        const name = /^[A-Za-z_][A-Za-z0-9_.[\]]*>/.exec(this.#src.slice(this.#pos, this.#pos + 64));
        if (name === null) this.#fail("invalid capture group name");
        this.#pos += name[0].length;
      } else if (!this.#eat(":")) {
        const set = /^(-?)([a-zA-Z]*)(-?)([a-zA-Z]*)([:)])/.exec(this.#src.slice(this.#pos, this.#pos + 32));
        if (set === null) this.#fail("invalid group flags");
        const target = set[5] === ")" ? outer : flags;
        this.#applyFlags(target, set[1] === "-" ? "" : set[2], set[1] === "-" ? set[2] : set[4]);
        this.#pos += set[0].length;
        if (set[5] === ")") return null; // (?i): the rest of the enclosing group
        flags = target;
      }
    }
    const node = this.#alternation(flags);
    if (!this.#eat(")")) this.#fail("unclosed group");
    return node;
  }

  #applyFlags(flags: Flags, on: string, off: string): void {
    for (const [letters, value] of [[on, true], [off, false]] as const) {
      for (const f of letters) {
        if (f === "i" || f === "s" || f === "m") flags[f] = value;
        else if (f !== "u" && f !== "U") this.#fail(`unsupported flag "${f}"`); // U: greed, not the match
      }
    }
  }

  #escape(flags: Flags): Node {
    this.#pos++; // backslash
    const c = this.#peek();
    if (c === undefined) this.#fail("incomplete escape sequence");
    const assertion = { A: TEXT_START, z: TEXT_END, b: WORD_BOUNDARY, B: NOT_WORD_BOUNDARY }[c];
    if (assertion !== undefined) {
      this.#pos++;
      return { kind: "assert", at: assertion };
    }
    const cls = this.#classEscape();
    if (cls !== null) return { kind: "char", test: classTest(cls, flags.i) };
    return { kind: "char", test: literalTest(this.#literalEscape(), flags.i) };
  }

  /** `\d \w \s \p{…}` and their negations, as JavaScript class source; the backslash is consumed. */
  #classEscape(): string | null {
    const c = this.#peek()!;
    if (c in PERL_CLASSES) {
      this.#pos++;
      return PERL_CLASSES[c];
    }
    if (c !== "p" && c !== "P") return null;
    this.#pos++;
    let name: string;
    if (this.#eat("{")) {
      const end = this.#src.indexOf("}", this.#pos);
      if (end === -1) this.#fail("unclosed Unicode class");
      name = this.#src.slice(this.#pos, end).replaceAll(" ", "");
      this.#pos = end + 1;
    } else {
      name = String.fromCodePoint(this.#codePoint());
    }
    if (!/^[A-Za-z0-9_=]+$/.test(name)) this.#fail(`invalid Unicode class "${name}"`);
    // Rust also takes a bare script name (`\p{Greek}`), which JavaScript spells `Script=Greek`
    for (const property of [name, `Script=${name}`]) {
      try {
        new RegExp(`\\p{${property}}`, "v");
        return `\\${c}{${property}}`;
      } catch {
        // not this spelling
      }
    }
    this.#fail(`unknown Unicode class "${name}"`);
  }

  /** A literal escape (`\n`, `\x41`, `\.`…); the backslash is consumed. */
  #literalEscape(): number {
    const c = this.#codePoint();
    const simple: Record<string, number> = { n: 0x0a, t: 0x09, r: 0x0d, f: 0x0c, v: 0x0b, a: 0x07 };
    const ch = String.fromCodePoint(c);
    if (ch in simple) return simple[ch];
    if (ch === "x" || ch === "u" || ch === "U") {
      const m = /^(?:\{([0-9A-Fa-f]{1,8})\}|([0-9A-Fa-f]{2,8}))/.exec(
        this.#src.slice(this.#pos, this.#pos + 10),
      );
      const digits = { x: 2, u: 4, U: 8 }[ch];
      const text = m === null ? null : m[1] ?? m[2].slice(0, digits);
      if (text === null || (m![1] === undefined && text.length !== digits)) this.#fail("invalid hex escape");
      const cp = parseInt(text, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) this.#fail("invalid code point");
      this.#pos += m![1] === undefined ? digits : m![0].length;
      return cp;
    }
    // Rust allows escaping any ASCII character that is not a letter or digit, except `<` and `>`
    if (c < 128 && !/[A-Za-z0-9<>]/.test(ch)) return c;
    this.#fail(`unrecognized escape sequence "\\${ch}"`);
  }

  /** A bracketed class, returned as JavaScript `v`-mode class source. */
  #class(): string {
    this.#pos++; // [
    const negated = this.#eat("^");
    let out = "";
    let first = true;
    for (;;) {
      const c = this.#peek();
      if (c === undefined) this.#fail("unclosed character class");
      if (c === "]" && !first) break;
      first = false;
      if (c === "[") {
        const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.#src.slice(this.#pos, this.#pos + 16));
        if (posix === null || !(posix[2] in POSIX_CLASSES)) this.#fail("nested classes are not supported");
        out += posix[1] === "^" ? `[^${POSIX_CLASSES[posix[2]]}]` : POSIX_CLASSES[posix[2]];
        this.#pos += posix[0].length;
        continue;
      }
      if (this.#src.startsWith("&&", this.#pos) || this.#src.startsWith("~~", this.#pos)) {
        this.#fail("class set operations are not supported");
      }
      if (c === "\\") {
        this.#pos++;
        if (this.#peek() === undefined) this.#fail("incomplete escape sequence");
        const cls = this.#classEscape();
        if (cls !== null) {
          out += cls;
          continue;
        }
      }
      const lo = c === "\\" ? this.#literalEscape() : this.#codePoint();
      if (this.#peek() === "-" && this.#src[this.#pos + 1] !== "]") {
        if (this.#src[this.#pos + 1] === "-") this.#fail("class set operations are not supported");
        this.#pos++;
        const hiChar = this.#peek();
        if (hiChar === undefined) this.#fail("unclosed character class");
        if (hiChar === "[") this.#fail("invalid range end");
        const hi = hiChar === "\\" ? (this.#pos++, this.#literalEscape()) : this.#codePoint();
        if (hi < lo) this.#fail("invalid class range");
        out += `${hexCodePoint(lo)}-${hexCodePoint(hi)}`;
      } else {
        out += hexCodePoint(lo);
      }
    }
    this.#pos++; // ]
    return negated ? `[^${out}]` : `[${out}]`;
  }
}

// ---------------------------------------------------------------- automaton

const CHAR = 0;
const SPLIT = 1;
const ASSERT = 2;
const MATCH = 3;

class Automaton {
  readonly op: number[] = [];
  readonly out: number[] = [];
  readonly out2: number[] = [];
  /** Per CHAR state: its test; per ASSERT state: the assertion. */
  readonly tests: (CodePointTest | null)[] = [];
  readonly at: number[] = [];
  start = 0;
  /** Buffers of a finished search, reused by the next one (a filter searches many names in a row). */
  spare: SearchScratch | null = null;

  #add(op: number, out: number, out2: number, test: CodePointTest | null, at: number): number {
    if (this.op.length >= MAX_FILTER_STATES) {
      throw new NameFilterError(`filter too large: more than ${MAX_FILTER_STATES} states`);
    }
    this.op.push(op);
    this.out.push(out);
    this.out2.push(out2);
    this.tests.push(test);
    this.at.push(at);
    return this.op.length - 1;
  }

  static build(root: Node): Automaton {
    const a = new Automaton();
    const match = a.#add(MATCH, -1, -1, null, 0);
    a.start = a.#compile(root, match);
    return a;
  }

  /** Compiles `node` so that it continues at `next`; returns its first state. */
  #compile(node: Node, next: number): number {
    switch (node.kind) {
      case "char":
        return this.#add(CHAR, next, -1, node.test, 0);
      case "assert":
        return this.#add(ASSERT, next, -1, null, node.at);
      case "cat":
        for (let i = node.items.length - 1; i >= 0; i--) next = this.#compile(node.items[i], next);
        return next;
      case "alt": {
        let s = this.#compile(node.items[node.items.length - 1], next);
        for (let i = node.items.length - 2; i >= 0; i--) {
          s = this.#add(SPLIT, this.#compile(node.items[i], next), s, null, 0);
        }
        return s;
      }
      case "repeat": {
        let s = next;
        if (node.max === Infinity) {
          const loop = this.#add(SPLIT, -1, next, null, 0);
          this.out[loop] = this.#compile(node.item, loop);
          s = loop;
        } else {
          for (let k = node.min; k < node.max; k++) {
            s = this.#add(SPLIT, this.#compile(node.item, s), next, null, 0);
          }
        }
        for (let k = 0; k < node.min; k++) s = this.#compile(node.item, s);
        return s;
      }
    }
  }
}

function assertionHolds(at: number, prev: number, next: number): boolean {
  switch (at) {
    case TEXT_START:
      return prev < 0;
    case TEXT_END:
      return next < 0;
    case LINE_START:
      return prev < 0 || prev === NEWLINE;
    case LINE_END:
      return next < 0 || next === NEWLINE;
    case WORD_BOUNDARY:
      return (prev >= 0 && isWordCodePoint(prev)) !== (next >= 0 && isWordCodePoint(next));
    default:
      return (prev >= 0 && isWordCodePoint(prev)) === (next >= 0 && isWordCodePoint(next));
  }
}

// ---------------------------------------------------------------- search

/** The state lists of one search; `marks` stamps a state with the generation that added it. */
interface SearchScratch {
  current: Int32Array;
  next: Int32Array;
  marks: Uint32Array;
  stack: Int32Array;
  generation: number;
}

function newScratch(states: number): SearchScratch {
  return {
    current: new Int32Array(states),
    next: new Int32Array(states),
    marks: new Uint32Array(states),
    stack: new Int32Array(states),
    generation: 0,
  };
}

/**
 * One search of a name, run in steps: each {@linkcode NameSearch.advance}
 * does a bounded amount of work, so a caller can give the event loop back
 * between calls.
 */
export class NameSearch {
  readonly #a: Automaton;
  readonly #name: string;
  readonly #scratch: SearchScratch;
  #pos = 0;
  #current: Int32Array;
  #currentLength = 0;
  #next: Int32Array;
  #nextLength = 0;
  readonly #marks: Uint32Array;
  readonly #stack: Int32Array;
  #generation: number;
  #result: boolean | undefined;
  #work = 0;

  /** @internal Use {@linkcode NameFilter.search}. */
  constructor(automaton: Automaton, name: string) {
    this.#a = automaton;
    this.#name = name;
    const scratch = automaton.spare ?? newScratch(automaton.op.length);
    automaton.spare = null;
    if (scratch.generation > 0xfff00000) { // room for the longest name before the stamps wrap
      scratch.marks.fill(0);
      scratch.generation = 0;
    }
    this.#scratch = scratch;
    this.#current = scratch.current;
    this.#next = scratch.next;
    this.#marks = scratch.marks;
    this.#stack = scratch.stack;
    this.#generation = scratch.generation + 1;
    if (this.#addClosure(automaton.start, -1, this.#codePointAt(0))) this.#finish(true);
    [this.#current, this.#next] = [this.#next, this.#current];
    this.#currentLength = this.#nextLength;
  }

  /** Records the answer and hands the buffers to the next search of the filter. */
  #finish(result: boolean): boolean {
    this.#result = result;
    const scratch = this.#scratch;
    scratch.current = this.#current;
    scratch.next = this.#next;
    scratch.generation = this.#generation;
    this.#a.spare = scratch;
    return result;
  }

  /** Steps done so far (states visited plus code points read): the cost of the search. */
  get work(): number {
    return this.#work;
  }

  #codePointAt(pos: number): number {
    return pos < this.#name.length ? this.#name.codePointAt(pos)! : -1;
  }

  /** Adds `state` and what it reaches without reading to the next list; true when MATCH is reached. */
  #addClosure(state: number, prev: number, next: number): boolean {
    const { op, out, out2, at } = this.#a;
    const marks = this.#marks;
    const stack = this.#stack;
    const gen = this.#generation;
    if (marks[state] === gen) return false;
    marks[state] = gen;
    let top = 0;
    stack[top++] = state;
    while (top > 0) {
      const s = stack[--top];
      this.#work++;
      switch (op[s]) {
        case CHAR:
          this.#next[this.#nextLength++] = s;
          break;
        case MATCH:
          return true;
        case SPLIT:
          if (marks[out2[s]] !== gen) {
            marks[out2[s]] = gen;
            stack[top++] = out2[s];
          }
          if (marks[out[s]] !== gen) {
            marks[out[s]] = gen;
            stack[top++] = out[s];
          }
          break;
        case ASSERT:
          if (assertionHolds(at[s], prev, next) && marks[out[s]] !== gen) {
            marks[out[s]] = gen;
            stack[top++] = out[s];
          }
      }
    }
    return false;
  }

  /**
   * Runs the search for about `budget` steps.
   *
   * @param budget how much work to do before pausing (`Infinity`: to the end)
   * @returns whether the name matches, or `undefined` when paused before the answer is known
   */
  advance(budget: number): boolean | undefined {
    if (this.#result !== undefined) return this.#result;
    const { out, tests } = this.#a;
    const name = this.#name;
    const until = this.#work + budget;
    while (this.#pos < name.length) {
      if (this.#work >= until) return undefined;
      const cp = name.codePointAt(this.#pos)!;
      const nextPos = this.#pos + (cp > 0xffff ? 2 : 1);
      const after = this.#codePointAt(nextPos);
      this.#generation++;
      this.#nextLength = 0;
      this.#work++;
      const current = this.#current;
      for (let i = 0; i < this.#currentLength; i++) {
        const s = current[i];
        if (tests[s]!(cp) && this.#addClosure(out[s], cp, after)) return this.#finish(true);
      }
      // unanchored search: a match may also start here
      if (this.#addClosure(this.#a.start, cp, after)) return this.#finish(true);
      [this.#current, this.#next] = [this.#next, this.#current];
      this.#currentLength = this.#nextLength;
      this.#pos = nextPos;
    }
    return this.#finish(false);
  }
}

/**
 * A compiled name filter: an unanchored search of a regular expression in
 * linear time. Create one with {@linkcode NameFilter.parse}.
 */
export class NameFilter {
  /** The filter as written. */
  readonly pattern: string;
  readonly #automaton: Automaton;

  private constructor(pattern: string, automaton: Automaton) {
    this.pattern = pattern;
    this.#automaton = automaton;
  }

  /**
   * Parses and compiles a filter.
   *
   * @param pattern the regular expression (Rust `regex` syntax, the subset in the module docs)
   * @returns the filter
   * @throws {NameFilterError} for a syntax error or a filter above the size limits
   */
  static parse(pattern: string): NameFilter {
    if (pattern.length > MAX_FILTER_LENGTH) {
      throw new NameFilterError(`filter too long: more than ${MAX_FILTER_LENGTH} characters`);
    }
    return new NameFilter(pattern, Automaton.build(new FilterParser(pattern).parse()));
  }

  /** Number of automaton states: the most work one code point of a name can cost. */
  get size(): number {
    return this.#automaton.op.length;
  }

  /**
   * Whether the filter matches somewhere in `name`, in one go (linear time,
   * but a long name and a large filter may take a while: use
   * {@linkcode selectByName} to keep an event loop turning).
   *
   * @param name the name to search
   * @returns true when it matches
   */
  test(name: string): boolean {
    return this.search(name).advance(Infinity)!;
  }

  /**
   * Starts a stepwise search of `name`.
   *
   * @param name the name to search
   * @returns the search, advanced with {@linkcode NameSearch.advance}
   */
  search(name: string): NameSearch {
    return new NameSearch(this.#automaton, name);
  }
}

/** Options of {@linkcode selectByName}. */
export interface SelectOptions {
  /** Longest run without giving the event loop back, in milliseconds. Default 2. */
  sliceMs?: number;
  /** Work steps between two clock readings. Default 4096. */
  stepsPerCheck?: number;
  /**
   * Most work steps for the whole selection (about 10 ns each); beyond it
   * {@linkcode FilterTooCostlyError} is thrown. Default: no limit.
   */
  maxWork?: number;
}

/** Thrown by {@linkcode selectByName} when a selection needs more than its `maxWork`. */
export class FilterTooCostlyError extends RangeError {
  /**
   * Creates the error.
   *
   * @param maxWork the limit that was reached
   */
  constructor(maxWork: number) {
    super(`filter too costly for these names: more than ${maxWork} steps`);
    this.name = "FilterTooCostlyError";
  }
}

/**
 * Keeps the items whose name the filter matches, giving the event loop back
 * every `sliceMs` milliseconds: however large the filter and long the names,
 * other work (every other client of a broker) keeps running.
 *
 * @example Select client rows by name
 * ```ts
 * import assert from "node:assert/strict";
 * import { NameFilter, selectByName } from "./name_filter.ts";
 * const rows = [{ name: "sensor.t1" }, { name: "app" }, { name: "sensor.t2" }];
 * const kept = await selectByName(NameFilter.parse("^sensor\\."), rows, (r) => r.name);
 * assert.deepEqual(kept.map((r) => r.name), ["sensor.t1", "sensor.t2"]);
 * ```
 *
 * @param filter the filter
 * @param items the items, in the order to keep
 * @param nameOf the name of an item
 * @param options the slice length
 * @returns the matching items, in order
 */
export async function selectByName<T>(
  filter: NameFilter,
  items: readonly T[],
  nameOf: (item: T) => string,
  options: SelectOptions = {},
): Promise<T[]> {
  const sliceMs = options.sliceMs ?? 2;
  const steps = options.stepsPerCheck ?? 4096;
  const maxWork = options.maxWork ?? Infinity;
  const kept: T[] = [];
  let work = 0;
  let sliceStart = performance.now();
  const yieldWhenDue = async () => {
    if (performance.now() - sliceStart < sliceMs) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
    sliceStart = performance.now();
  };
  for (const item of items) {
    const search = filter.search(nameOf(item));
    let result: boolean | undefined;
    while ((result = search.advance(steps)) === undefined) {
      if (work + search.work > maxWork) throw new FilterTooCostlyError(maxWork);
      await yieldWhenDue();
    }
    work += search.work;
    if (work > maxWork) throw new FilterTooCostlyError(maxWork);
    if (result) kept.push(item);
    await yieldWhenDue();
  }
  return kept;
}
