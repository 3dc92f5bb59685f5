/**
 * Pattern matching of topics (`/`, `+`, `#`) and broadcast masks (`.`, `?`,
 * `*`) as PROTOCOL.md §7.2–§7.4 define them, and the subscription trie
 * checked against the plain matcher.
 */
import assert from "node:assert/strict";
import { type Markable, matchSegments, TopicTree } from "../broker/topics.ts";
import { prng } from "./_helpers.ts";

function topicMatches(pattern: string, topic: string): boolean {
  return matchSegments(pattern.split("/"), topic.split("/"), "#", "+");
}

function maskMatches(mask: string, name: string): boolean {
  return matchSegments(mask.split("."), name.split("."), "*", "?");
}

Deno.test("topic patterns follow §7.3, including the differences from MQTT", () => {
  const cases: [string, string, boolean][] = [
    ["a/b", "a/b", true],
    ["a/b", "a/c", false],
    ["a/b", "a/b/c", false],
    ["a/b", "a", false],
    ["a/#", "a", false], // # needs one or more segments
    ["a/#", "a/b", true],
    ["a/#", "a/b/c", true],
    ["a/#", "a/", true], // trailing / adds an empty segment
    ["#", "", true], // "" is one empty segment
    ["#", "x", true],
    ["#", ".broker/info", true],
    ["#", "a/b/c", true],
    ["a/#/b", "a/x", true], // rest after # ignored
    ["a/#/b", "a/x/y/z", true],
    ["a/#/b", "a", false],
    ["+", "", true],
    ["+", "x", true],
    ["+", "x/y", false],
    ["a/+", "a/b", true],
    ["a/+", "a/", true],
    ["a/+", "a/b/c", false],
    ["a/+", "a", false],
    ["+/b", "x/b", true],
    ["+/+", "/", true],
    ["a/+/c", "a/b/c", true],
    ["a/+/c", "a/b/d", false],
    ["a+", "a+", true], // partial-segment wildcards are literals
    ["a+", "ab", false],
    ["x#", "x#", true],
    ["x#", "xy", false],
    ["a//b", "a//b", true],
    ["a//b", "a/b", false],
    ["a/+/b", "a//b", true],
    ["", "", true],
    ["", "a", false],
    ["$SYS/#", "$SYS/x", true],
    [".broker/+", ".broker/warn", true],
    ["+/info", ".broker/info", true],
    ["A/b", "a/b", false], // byte-exact, case-sensitive
  ];
  for (const [pattern, topic, expected] of cases) {
    assert.equal(topicMatches(pattern, topic), expected, `"${pattern}" vs "${topic}"`);
  }
});

Deno.test("broadcast masks follow §7.2", () => {
  const cases: [string, string, boolean][] = [
    ["*", "a", true],
    ["*", ".broker", true],
    ["*", "a.b.c", true],
    ["*", "app%%1", true],
    ["a.*", "a", false],
    ["a.*", "a.x", true],
    ["a.*", "a.x.y", true],
    ["a.*", "a.x%%1", true],
    ["a.*.c", "a.x", true], // rest after * ignored
    ["a.*.c", "a.x.y.z", true],
    ["a.?", "a.x", true],
    ["a.?", "a.x.y", false],
    ["a.?", "a.", true],
    ["?.b", "x.b", true],
    ["?.b", "x.c", false],
    ["?", "a", true],
    ["?", ".broker", false],
    ["?.broker", ".broker", true],
    ["a*", "a*", true],
    ["a*", "ab", false],
    ["a?", "ab", false],
    ["test.client", "test.client", true],
    ["test", "test.client", false],
    ["test.client", "test.client%%0", false],
  ];
  for (const [mask, name, expected] of cases) {
    assert.equal(maskMatches(mask, name), expected, `"${mask}" vs "${name}"`);
  }
});

class Sub implements Markable {
  mark = 0;
  constructor(readonly id: string) {}
}

function matchIds(tree: TopicTree<Sub>, topic: string): string[] {
  const out: Sub[] = [];
  tree.match(topic.split("/"), out);
  return out.map((s) => s.id).sort();
}

Deno.test("TopicTree returns each subscriber once even when several patterns match", () => {
  const tree = new TopicTree<Sub>();
  const a = new Sub("a");
  const b = new Sub("b");
  for (const p of ["x/y", "x/+", "x/#", "#", "+/y", "+/+"]) tree.insert(p, a);
  tree.insert("x/y", b);
  assert.deepEqual(matchIds(tree, "x/y"), ["a", "b"]);
  assert.deepEqual(matchIds(tree, "x/y"), ["a", "b"], "a second match pass is independent");
  assert.deepEqual(matchIds(tree, "q"), ["a"]);
});

Deno.test("TopicTree removal is exact and prunes; other subscribers of the pattern stay", () => {
  const tree = new TopicTree<Sub>();
  const a = new Sub("a");
  const b = new Sub("b");
  tree.insert("a/b", a);
  tree.insert("a/b", b);
  tree.insert("a/+", a);
  tree.remove("#", a); // not subscribed: no-op
  tree.remove("a/c", a);
  tree.remove("nothing/here/at/all", a);
  assert.deepEqual(matchIds(tree, "a/b"), ["a", "b"]);
  tree.remove("a/b", a);
  assert.deepEqual(matchIds(tree, "a/b"), ["a", "b"], "a still matches through a/+");
  tree.remove("a/+", a);
  assert.deepEqual(matchIds(tree, "a/b"), ["b"]);
  tree.remove("a/b", b);
  assert.deepEqual(matchIds(tree, "a/b"), []);
  tree.insert("a/b", a);
  assert.deepEqual(matchIds(tree, "a/b"), ["a"], "reinsert after pruning works");
});

Deno.test("TopicTree agrees with the plain matcher on random patterns and topics", () => {
  const rand = prng(2024);
  const segs = ["a", "b", "", "+", "#", "c+", "x#"];
  const topicSegs = ["a", "b", "", "c", "+", "#"];
  const pick = <T>(list: T[]) => list[Math.floor(rand() * list.length)];
  const patterns: string[] = [];
  for (let i = 0; i < 300; i++) {
    const n = 1 + Math.floor(rand() * 4);
    patterns.push(Array.from({ length: n }, () => pick(segs)).join("/"));
  }
  const subs = patterns.map((_, i) => new Sub(`${i}`));
  const tree = new TopicTree<Sub>();
  patterns.forEach((p, i) => tree.insert(p, subs[i]));
  // remove a third of them again
  const removed = new Set<number>();
  for (let i = 0; i < patterns.length; i += 3) {
    tree.remove(patterns[i], subs[i]);
    removed.add(i);
  }
  for (let t = 0; t < 400; t++) {
    const n = 1 + Math.floor(rand() * 4);
    const topic = Array.from({ length: n }, () => pick(topicSegs)).join("/");
    const expected = patterns
      .map((p, i) => [p, i] as const)
      .filter(([p, i]) => !removed.has(i) && topicMatches(p, topic))
      .map(([, i]) => `${i}`)
      .sort();
    // a pattern string shared by several subscribers where one was removed must not hide the others
    assert.deepEqual(matchIds(tree, topic), expected, `topic "${topic}"`);
  }
});
