/**
 * Pattern matching for topics (`/`, `+`, `#`) and name masks (`.`, `?`, `*`),
 * with the reference broker's rules: the any-wildcard matches one or more
 * remaining segments (never zero) and ends the pattern.
 *
 * @module
 */

/**
 * Matches pattern segments against name/topic segments.
 *
 * @example `#` matches one or more segments, never zero
 * ```ts
 * import assert from "node:assert/strict";
 * import { matchSegments } from "./topics.ts";
 * assert.ok(!matchSegments(["a", "#"], ["a"], "#", "+"));
 * assert.ok(matchSegments(["a", "#"], ["a", "b", "c"], "#", "+"));
 * assert.ok(matchSegments(["a", "+", "c"], ["a", "b", "c"], "#", "+"));
 * ```
 *
 * @param pattern the pattern segments
 * @param segs the name or topic segments
 * @param any the wildcard for the rest (`#` or `*`)
 * @param one the wildcard for one segment (`+` or `?`)
 * @returns true when the pattern matches
 */
export function matchSegments(
  pattern: readonly string[],
  segs: readonly string[],
  any: string,
  one: string,
): boolean {
  const n = pattern.length;
  for (let i = 0; i < n; i++) {
    const p = pattern[i];
    if (p === any) return segs.length > i;
    if (i >= segs.length) return false;
    if (p !== one && p !== segs[i]) return false;
  }
  return segs.length === n;
}

/** Something that can be found by a topic match; `mark` dedupes one match pass. */
export interface Markable {
  /** Scratch field owned by the matcher. */
  mark: number;
}

class TopicNode<C> {
  children: Map<string, TopicNode<C>> | null = null;
  plus: TopicNode<C> | null = null;
  exact: Set<C> | null = null;
  hash: Set<C> | null = null;

  get empty(): boolean {
    return (this.children === null || this.children.size === 0) && this.plus === null &&
      (this.exact === null || this.exact.size === 0) && (this.hash === null || this.hash.size === 0);
  }
}

/**
 * Subscriptions of many clients, indexed as a trie of pattern segments so a
 * publication is matched in time proportional to the topic, not the number
 * of subscriptions.
 */
export class TopicTree<C extends Markable> {
  #root = new TopicNode<C>();
  #mark = 0;

  /**
   * Adds `client` under `pattern`.
   *
   * @param pattern the topic pattern
   * @param client the subscriber
   */
  insert(pattern: string, client: C): void {
    const segs = pattern.split("/");
    let node = this.#root;
    for (const seg of segs) {
      if (seg === "#") {
        (node.hash ??= new Set()).add(client);
        return;
      }
      if (seg === "+") {
        node = node.plus ??= new TopicNode();
      } else {
        node.children ??= new Map();
        let child = node.children.get(seg);
        if (child === undefined) node.children.set(seg, child = new TopicNode());
        node = child;
      }
    }
    (node.exact ??= new Set()).add(client);
  }

  /**
   * Removes `client` from `pattern`, pruning empty branches.
   *
   * @param pattern the topic pattern
   * @param client the subscriber
   */
  remove(pattern: string, client: C): void {
    const segs = pattern.split("/");
    const path: [TopicNode<C>, string][] = [];
    let node = this.#root;
    let isHash = false;
    for (const seg of segs) {
      if (seg === "#") {
        isHash = true;
        break;
      }
      const next = seg === "+" ? node.plus : node.children?.get(seg) ?? null;
      if (next === null) return;
      path.push([node, seg]);
      node = next;
    }
    (isHash ? node.hash : node.exact)?.delete(client);
    for (let i = path.length - 1; i >= 0 && node.empty; i--) {
      const [parent, seg] = path[i];
      if (seg === "+") parent.plus = null;
      else parent.children!.delete(seg);
      node = parent;
    }
  }

  /**
   * Appends to `out` every client with a pattern matching the topic segments,
   * each once.
   *
   * @param segs the topic segments
   * @param out where the matching clients are appended
   */
  match(segs: readonly string[], out: C[]): void {
    const mark = ++this.#mark;
    this.#walk(this.#root, segs, 0, out, mark);
  }

  #walk(node: TopicNode<C>, segs: readonly string[], i: number, out: C[], mark: number): void {
    if (node.hash !== null && i < segs.length) {
      for (const c of node.hash) {
        if (c.mark !== mark) {
          c.mark = mark;
          out.push(c);
        }
      }
    }
    if (i === segs.length) {
      if (node.exact !== null) {
        for (const c of node.exact) {
          if (c.mark !== mark) {
            c.mark = mark;
            out.push(c);
          }
        }
      }
      return;
    }
    const child = node.children?.get(segs[i]);
    if (child !== undefined) this.#walk(child, segs, i + 1, out, mark);
    if (node.plus !== null) this.#walk(node.plus, segs, i + 1, out, mark);
  }
}

class PatternNode {
  children: Map<string, PatternNode> | null = null;
  plus: PatternNode | null = null;
  /** A pattern ends here. */
  exact = false;
  /** Patterns that continue with `#` here (`a/#` and `a/#/b` both end at `a`'s node). */
  hashes = 0;

  get empty(): boolean {
    return (this.children === null || this.children.size === 0) && this.plus === null && !this.exact &&
      this.hashes === 0;
  }
}

/**
 * One client's set of topic patterns (its exclusions), indexed like
 * {@linkcode TopicTree}: whether any pattern matches a topic is answered in
 * time proportional to the topic, not to the number of patterns. Patterns
 * are kept under their exact strings (§7.4).
 *
 * @example Exclusions matched without a scan
 * ```ts
 * import assert from "node:assert/strict";
 * import { TopicPatternSet } from "./topics.ts";
 * const set = new TopicPatternSet();
 * set.add("a/#");
 * set.add("b/+/c");
 * assert.ok(set.matches(["a", "x"]));
 * assert.ok(!set.matches(["a"]));
 * assert.ok(set.matches(["b", "y", "c"]));
 * set.delete("a/#");
 * assert.ok(!set.matches(["a", "x"]));
 * assert.equal(set.size, 1);
 * ```
 */
export class TopicPatternSet {
  #patterns = new Set<string>();
  #root = new PatternNode();

  /** Number of patterns. */
  get size(): number {
    return this.#patterns.size;
  }

  /**
   * @param pattern the exact pattern string
   * @returns whether it is in the set
   */
  has(pattern: string): boolean {
    return this.#patterns.has(pattern);
  }

  /**
   * Adds a pattern.
   *
   * @param pattern the topic pattern
   * @returns false when it was there already
   */
  add(pattern: string): boolean {
    if (this.#patterns.has(pattern)) return false;
    this.#patterns.add(pattern);
    let node = this.#root;
    for (const seg of pattern.split("/")) {
      if (seg === "#") {
        node.hashes++;
        return true;
      }
      if (seg === "+") node = node.plus ??= new PatternNode();
      else {
        node.children ??= new Map();
        let child = node.children.get(seg);
        if (child === undefined) node.children.set(seg, child = new PatternNode());
        node = child;
      }
    }
    node.exact = true;
    return true;
  }

  /**
   * Removes a pattern (the exact string), pruning empty branches.
   *
   * @param pattern the pattern, as added
   * @returns false when it was not there
   */
  delete(pattern: string): boolean {
    if (!this.#patterns.delete(pattern)) return false;
    const path: [PatternNode, string][] = [];
    let node = this.#root;
    let isHash = false;
    for (const seg of pattern.split("/")) {
      if (seg === "#") {
        isHash = true;
        break;
      }
      const next = seg === "+" ? node.plus : node.children?.get(seg) ?? null;
      if (next === null) return true;
      path.push([node, seg]);
      node = next;
    }
    if (isHash) node.hashes--;
    else node.exact = false;
    for (let i = path.length - 1; i >= 0 && node.empty; i--) {
      const [parent, seg] = path[i];
      if (seg === "+") parent.plus = null;
      else parent.children!.delete(seg);
      node = parent;
    }
    return true;
  }

  /**
   * Whether any pattern matches the topic segments (§7.3 rules).
   *
   * @param segs the topic segments
   * @returns true when one does
   */
  matches(segs: readonly string[]): boolean {
    return this.#patterns.size > 0 && matchNode(this.#root, segs, 0);
  }
}

function matchNode(node: PatternNode, segs: readonly string[], i: number): boolean {
  if (node.hashes > 0 && i < segs.length) return true;
  if (i === segs.length) return node.exact;
  const child = node.children?.get(segs[i]);
  if (child !== undefined && matchNode(child, segs, i + 1)) return true;
  return node.plus !== null && matchNode(node.plus, segs, i + 1);
}
