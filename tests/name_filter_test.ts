/**
 * The linear-time name filter of `client.list` (broker/name_filter.ts): the same answers as a backtracking
 * JavaScript RegExp wherever the two syntaxes agree, Rust's semantics where they differ, and its limits.
 */
import assert from "node:assert/strict";
import {
  FilterTooCostlyError,
  MAX_FILTER_STATES,
  NameFilter,
  NameFilterError,
  selectByName,
} from "../broker/name_filter.ts";

const NAMES = [
  "",
  "a",
  "aa",
  "aab",
  "ab",
  "abab",
  "ababc",
  "abc",
  "ABC",
  "app.worker.3",
  "db-7",
  "foo bar",
  "foobar",
  "other",
  "sensor.t1",
  "x.y.z",
  "xxxz",
  "xyxyz",
  "a-b-c",
  "1 2",
  "tab\there",
  "line\nbreak",
];

Deno.test("NameFilter answers like a JavaScript RegExp where the syntaxes agree", () => {
  const patterns = [
    "^sensor\\.",
    ".*\\.worker\\..*",
    "^(db|app)[-.]",
    "[0-9]$",
    "^[^.]{5}$",
    "t\\d|r$",
    "a{2,3}b",
    "^a{2}$",
    "a{2,}",
    "(ab)+c",
    "^(?:ab)*$",
    "^$",
    "",
    "x*",
    "\\bfoo\\b",
    "\\Bo",
    "^[a-c-]+$",
    "[.]",
    "a|b|c",
    "^(a|b)*c?$",
    "^.{3,}$",
    "[\\d\\s]",
    "^(?:x|y){1,3}z",
    "o$",
    "[^a-z]",
    "a+?b",
    "(a|ab)(c|bcd)",
    "^[\\x41-\\x43]+$",
  ];
  for (const pattern of patterns) {
    const filter = NameFilter.parse(pattern);
    const js = new RegExp(pattern, "u");
    for (const name of NAMES) {
      assert.equal(filter.test(name), js.test(name), `${JSON.stringify(pattern)} on ${JSON.stringify(name)}`);
    }
  }
});

Deno.test("NameFilter follows Rust's regex where JavaScript differs", () => {
  const t = (pattern: string, name: string) => NameFilter.parse(pattern).test(name);
  assert.ok(t("^\\w+$", "café"), "\\w is Unicode");
  assert.ok(t("\\d", "٣"), "\\d is Unicode");
  assert.ok(!t("a$", "a\n"), "$ is the end of the text, not before a final newline");
  assert.ok(t("(?m)^break$", "line\nbreak"), "m: ^ and $ at lines");
  assert.ok(!t(".", "\n") && t("(?s).", "\n"), "s: . matches a newline");
  assert.ok(t("(?i)^äpp", "ÄPP.unicode"), "i is Unicode-aware");
  assert.ok(
    t("a(?i)b|c", "aB") && t("a(?i)b|c", "C") && !t("a(?i)b|c", "AB"),
    "flags hold to the group's end",
  );
  assert.ok(t("(?i:a)b", "Ab") && !t("(?i:a)b", "AB"), "scoped flags");
  assert.ok(t("^(?P<kind>app)\\.one$", "app.one") && t("^(?<k>a)$", "a"), "named groups");
  assert.ok(t("^[[:alpha:]]+$", "abc") && !t("^[[:alpha:]]+$", "a1"), "POSIX classes");
  assert.ok(t("^[[:^digit:]]+$", "abc") && !t("^[[:^digit:]]+$", "a1"), "negated POSIX classes");
  assert.ok(t("\\p{Greek}", "αβ") && t("\\pL", "x") && !t("\\PL", "x"), "Unicode classes, bare script names");
  assert.ok(t("\\Aab\\z", "ab") && !t("\\Aab\\z", "abc"));
  assert.ok(t("^app\\-", "app-x") && t("\\x{41}", "A") && t("\\u{1F600}", "😀"), "escapes");
  assert.ok(t("^.$", "😀"), "a code point, not a UTF-16 unit");
});

Deno.test("NameFilter refuses what it does not support, and what is too large", () => {
  const bad = [
    "(",
    ")",
    "a**",
    "[a",
    "\\q",
    "\\<",
    "*a",
    "a{3,2}",
    "a{1001}",
    "[a&&b]",
    "[a--b]",
    "[[a]]",
    "(?x)a",
    "\\p{Nope}",
    "x".repeat(4097),
    `(?:a{1000}){${Math.ceil(MAX_FILTER_STATES / 1000) + 1}}`,
  ];
  for (const pattern of bad) {
    assert.throws(() => NameFilter.parse(pattern), NameFilterError, pattern.slice(0, 40));
  }
});

Deno.test("selectByName keeps order, gives the event loop back and stops at its work limit", async () => {
  const filter = NameFilter.parse("^a+$");
  const rows = [{ n: "aa" }, { n: "b" }, { n: "a" }];
  assert.deepEqual(await selectByName(filter, rows, (r) => r.n), [{ n: "aa" }, { n: "a" }]);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const long = ["a".repeat(65535), "a".repeat(65535)];
  await selectByName(NameFilter.parse("(a|aa)*b"), long, (n) => n, { sliceMs: 1 });
  clearInterval(timer);
  assert.ok(ticks > 0, "timers ran during the search");
  await assert.rejects(
    selectByName(NameFilter.parse("(a|aa)*b"), long, (n) => n, { maxWork: 10_000 }),
    FilterTooCostlyError,
  );
});
