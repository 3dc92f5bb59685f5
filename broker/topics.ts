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
