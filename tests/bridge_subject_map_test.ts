/**
 * Topic ↔ subject mapping (bridge/subject_map.ts) on random inputs: every
 * topic round-trips byte for byte, no token holds what NATS forbids, and a
 * mapped pattern matches a mapped topic in NATS exactly when the pattern
 * matches the topic in BUS/RT.
 *
 * @module
 */
import assert from "node:assert/strict";
import { patternToSubject, subjectToTopic, topicToSubject } from "../bridge/subject_map.ts";
import { matchSegments } from "../broker/topics.ts";

const PREFIX = "busrt.pub";
const ALPHABET = ["a", "b", ".", " ", "*", ">", "~", "+", "#", "\t", "\x7f", "ü", "€", "~2E", "/", "/", "/"];

/** A small deterministic generator (xorshift), so a failure can be replayed. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function randomTopic(next: () => number): string {
  let s = "";
  const n = Math.floor(next() * 8);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return s;
}

/** NATS subject matching: `*` one token, `>` one or more remaining tokens. */
function natsMatches(pattern: string, subject: string): boolean {
  const p = pattern.split(".");
  const s = subject.split(".");
  for (let i = 0; i < p.length; i++) {
    if (p[i] === ">") return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== "*" && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

Deno.test("topicToSubject() round-trips 20,000 random topics byte for byte, with valid tokens only", () => {
  const next = random(0x5eed);
  for (let i = 0; i < 20_000; i++) {
    const topic = randomTopic(next);
    const subject = topicToSubject(PREFIX, topic);
    assert.equal(subjectToTopic(PREFIX, subject), topic, JSON.stringify(topic));
    for (const token of subject.split(".")) {
      assert.ok(token.length > 0, `empty token in ${JSON.stringify(subject)}`);
      for (const c of token) {
        const code = c.charCodeAt(0);
        const forbidden = code <= 0x20 || code === 0x7f || c === "*" || c === ">" || c === ".";
        assert.ok(!forbidden, `forbidden character in ${JSON.stringify(subject)}`);
      }
    }
  }
});

Deno.test("a mapped pattern matches a mapped topic in NATS exactly when it matches in BUS/RT", () => {
  const next = random(0xbeef);
  const pieces = ["a", "b", "+", "#", "a.b", "", "*", ">"];
  const pick = () => pieces[Math.floor(next() * pieces.length)];
  let matched = 0;
  for (let i = 0; i < 20_000; i++) {
    const pattern = Array.from({ length: 1 + Math.floor(next() * 4) }, pick).join("/");
    // topics of few distinct segments (a topic's + and # are plain), so that patterns often match
    const topic = Array.from(
      { length: 1 + Math.floor(next() * 4) },
      () => ["a", "b", "a.b", "", "*", "+", "#"][Math.floor(next() * 7)],
    )
      .join("/");
    const busrt = matchSegments(pattern.split("/"), topic.split("/"), "#", "+");
    const nats = natsMatches(patternToSubject(PREFIX, pattern), topicToSubject(PREFIX, topic));
    assert.equal(nats, busrt, `pattern ${JSON.stringify(pattern)}, topic ${JSON.stringify(topic)}`);
    if (busrt) matched++;
  }
  assert.ok(matched > 1000, `only ${matched} matching pairs: the test would prove little`);
});
