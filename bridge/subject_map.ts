/**
 * BUS/RT topics ↔ NATS subjects. Segments become tokens (`/` ↔ `.`), the
 * wildcards of a pattern map (`+` ↔ `*`, `#` ↔ `>`), and every
 * character a NATS token may not hold is escaped, reversibly: `~` followed
 * by two upper-case hex digits of the character (`.` `~2E`, space `~20`,
 * `*` `~2A`, `>` `~3E`, `~` itself `~7E`, control characters and DEL); an
 * empty segment is the token `~` alone. In a topic (not a pattern) a
 * segment that is `+` or `#` alone is a plain character and is escaped too
 * (`~2B`, `~23`), so that it never reads as a wildcard. Other characters, UTF-8 included, pass as they are.
 *
 * @example A topic that needs escapes round-trips byte for byte
 * ```ts
 * import assert from "node:assert/strict";
 * import { subjectToTopic, topicToSubject } from "./subject_map.ts";
 * const subject = topicToSubject("busrt", "plant 1/v1.2//t>*~");
 * assert.equal(subject, "busrt.plant~201.v1~2E2.~.t~3E~2A~7E");
 * assert.equal(subjectToTopic("busrt", subject), "plant 1/v1.2//t>*~");
 * ```
 *
 * @module
 */

const ESCAPE = 0x7e; // ~
const HEX = "0123456789ABCDEF";

/** Whether a character must be escaped inside a token. */
function mustEscape(c: number): boolean {
  return c <= 0x20 || c === 0x7f || c === 0x2e || c === 0x2a || c === 0x3e || c === ESCAPE;
}

/**
 * Escapes one topic segment into a NATS token.
 *
 * @example Plain segments stay as they are; the rest is escaped
 * ```ts
 * import assert from "node:assert/strict";
 * import { escapeSegment } from "./subject_map.ts";
 * assert.equal(escapeSegment("sensors"), "sensors");
 * assert.equal(escapeSegment("a.b c"), "a~2Eb~20c");
 * assert.equal(escapeSegment(""), "~");
 * assert.equal(escapeSegment("+"), "~2B");
 * ```
 *
 * @param segment the segment (a topic's text between `/`)
 * @returns the token
 */
export function escapeSegment(segment: string): string {
  if (segment.length === 0) return "~";
  let out = "";
  let from = 0;
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    const wild = (c === 0x2b || c === 0x23) && segment.length === 1; // a lone + or # would read as a wildcard
    if (!mustEscape(c) && !wild) continue;
    out += segment.slice(from, i) + "~" + HEX[c >> 4] + HEX[c & 15];
    from = i + 1;
  }
  return from === 0 ? segment : out + segment.slice(from);
}

/**
 * Reverses {@linkcode escapeSegment}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { unescapeToken } from "./subject_map.ts";
 * assert.equal(unescapeToken("a~2Eb~20c"), "a.b c");
 * assert.equal(unescapeToken("~"), "");
 * assert.throws(() => unescapeToken("a~2"), SyntaxError);
 * ```
 *
 * @param token a subject token
 * @returns the segment
 * @throws {SyntaxError} for a `~` not followed by two hex digits
 */
export function unescapeToken(token: string): string {
  if (token === "~") return "";
  const at = token.indexOf("~");
  if (at === -1) return token;
  let out = token.slice(0, at);
  for (let i = at; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c !== ESCAPE) {
      out += token[i];
      continue;
    }
    const hex = token.slice(i + 1, i + 3);
    if (!/^[0-9A-F]{2}$/.test(hex)) throw new SyntaxError(`Bad escape in subject token "${token}"`);
    out += String.fromCharCode(parseInt(hex, 16));
    i += 2;
  }
  return out;
}

/**
 * The NATS subject of a publication topic.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { topicToSubject } from "./subject_map.ts";
 * assert.equal(topicToSubject("busrt.pub", "sensors/room1/t"), "busrt.pub.sensors.room1.t");
 * assert.equal(topicToSubject("busrt.pub", "a/+/#"), "busrt.pub.a.~2B.~23");
 * ```
 *
 * @param prefix the subject prefix (tokens joined by `.`)
 * @param topic the topic
 * @returns the subject
 */
export function topicToSubject(prefix: string, topic: string): string {
  let out = prefix;
  for (const seg of topic.split("/")) out += "." + escapeSegment(seg);
  return out;
}

/**
 * The NATS subscription subject of a topic pattern: `+` becomes `*`, `#`
 * becomes `>` and ends the subject, as the any-wildcard ends a pattern in
 * BUS/RT (`a/#/b` matches what `a/#` matches).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { patternToSubject } from "./subject_map.ts";
 * assert.equal(patternToSubject("busrt.pub", "sensors/+/t"), "busrt.pub.sensors.*.t");
 * assert.equal(patternToSubject("busrt.pub", "#"), "busrt.pub.>");
 * assert.equal(patternToSubject("busrt.pub", "a/#/b"), "busrt.pub.a.>");
 * ```
 *
 * @param prefix the subject prefix
 * @param pattern the topic pattern
 * @returns the subject, with NATS wildcards
 */
export function patternToSubject(prefix: string, pattern: string): string {
  const segs = pattern.split("/");
  let out = prefix;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    if (seg === "+") out += ".*";
    else if (seg === "#") return out + ".>";
    else out += "." + escapeSegment(seg);
  }
  return out;
}

/**
 * The topic of a publication subject.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { subjectToTopic } from "./subject_map.ts";
 * assert.equal(subjectToTopic("busrt.pub", "busrt.pub.sensors.~.t~2E1"), "sensors//t.1");
 * assert.equal(subjectToTopic("busrt.pub", "other.x"), null);
 * ```
 *
 * @param prefix the subject prefix
 * @param subject the subject
 * @returns the topic, or null when the subject is not under `prefix`
 * @throws {SyntaxError} for a malformed escape
 */
export function subjectToTopic(prefix: string, subject: string): string | null {
  if (subject.length <= prefix.length + 1 || !subject.startsWith(prefix) || subject[prefix.length] !== ".") {
    return null;
  }
  return subject.slice(prefix.length + 1).split(".").map(unescapeToken).join("/");
}

/**
 * Whether a string is a valid subject prefix: tokens joined by `.`, none
 * empty, no wildcard, no whitespace.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isValidPrefix } from "./subject_map.ts";
 * assert.ok(isValidPrefix("busrt.site1"));
 * assert.ok(!isValidPrefix("busrt..x"));
 * assert.ok(!isValidPrefix("busrt.>"));
 * ```
 *
 * @param prefix the candidate
 * @returns true when valid
 */
export function isValidPrefix(prefix: string): boolean {
  return prefix.split(".").every((t) => t.length > 0 && t !== "*" && t !== ">" && !/[\s*>]/.test(t));
}
