/**
 * This package names itself: one version constant in the code, equal to
 * deno.json's, reported by `busrt --version` and in the `.broker` `info`
 * reply (the reference's field names, our name and version: PROTOCOL.md
 * §12.1), which the reference CLI still reads.
 */
import assert from "node:assert/strict";
import config from "../deno.json" with { type: "json" };
import { AUTHOR, PACKAGE_NAME, REFERENCE_VERSION, VERSION } from "../protocol/constants.ts";
import { runCli } from "./_cli_helpers.ts";
import { REFERENCE_UNAVAILABLE, runReferenceCli, withBroker } from "./_reference.ts";

Deno.test("VERSION and PACKAGE_NAME equal deno.json's version and name; info's author is the package name", () => {
  assert.equal(VERSION, config.version);
  assert.equal(PACKAGE_NAME, config.name);
  assert.equal(AUTHOR, PACKAGE_NAME);
  assert.notEqual(VERSION, REFERENCE_VERSION);
});

Deno.test("busrt --version and busrt broker info report this package's name and version", async () => {
  await withBroker("ours", async (broker) => {
    const [version, info] = await Promise.all([
      runCli(["--version"]),
      runCli(["-s", broker.unix, "--json", "broker", "info"]),
    ]);
    assert.equal(version.stdout, `busrt ${VERSION} (BUS/RT protocol v1, compatible with busrt 0.5.6)\n`);
    assert.deepEqual(JSON.parse(info.stdout), { author: "@busrt/busrt", version: VERSION });
  });
});

Deno.test({
  name: "the reference CLI's `busrt ADDR broker info` reads our broker's info reply",
  ignore: REFERENCE_UNAVAILABLE !== null,
  async fn() {
    await withBroker("ours", async (broker) => {
      const result = await runReferenceCli(broker.unix, ["broker", "info"], ["-n", "ref.info"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^ author +@busrt\/busrt +$/m);
      assert.match(result.stdout, new RegExp(`^ version +${VERSION.replaceAll(".", "\\.")} +$`, "m"));
    });
  },
});
