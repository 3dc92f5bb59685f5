/**
 * The README is executed as a new user would follow it: the quick-start code
 * block, verbatim, in a fresh project that links this checkout the documented
 * way, run with the documented command; and the documented CLI install
 * command, into a temporary install root, used against a broker.
 *
 * @module
 */
import assert from "node:assert/strict";

const CHECKOUT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const README = await Deno.readTextFile(`${CHECKOUT}/README.md`);

/** The first fenced block of `lang` after the text `marker`, and where it ends. */
function blockAfter(marker: string, lang: string, from = 0): { text: string; end: number } {
  const h = README.indexOf(marker, from);
  assert.ok(h >= 0, `README has no "${marker}"`);
  const open = README.indexOf("```" + lang + "\n", h);
  assert.ok(open >= 0, `no \`\`\`${lang} block after "${marker}"`);
  const start = open + lang.length + 4;
  const close = README.indexOf("\n```", start);
  return { text: README.slice(start, close + 1), end: close + 4 };
}

/** Splits a documented shell command (backslash continuations, no quoting) into words. */
function words(command: string): string[] {
  return command.replace(/\\\n/g, " ").trim().split(/\s+/);
}

/**
 * A temp dir holding `busrt` (a link to this checkout, as if cloned there)
 * and `app` (the user's project, with the README's deno.json).
 */
async function userProject(): Promise<{ root: string; app: string }> {
  const root = await Deno.makeTempDir({ prefix: "busrt-readme-" });
  await Deno.symlink(CHECKOUT, `${root}/busrt`);
  await Deno.mkdir(`${root}/app`);
  const config = blockAfter("## Getting the library and the CLI", "json").text;
  assert.match(config, /"links": \["\.\.\/busrt"\]/);
  await Deno.writeTextFile(`${root}/app/deno.json`, config);
  return { root, app: `${root}/app` };
}

async function run(
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<Deno.CommandOutput> {
  const [cmd, ...rest] = args;
  return await new Deno.Command(cmd === "deno" ? Deno.execPath() : cmd, {
    args: rest,
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("the README quick start runs verbatim in a project linking the checkout as documented", async () => {
  const { root, app } = await userProject();
  try {
    const quick = blockAfter("## Quick start", "ts");
    await Deno.writeTextFile(`${app}/main.ts`, quick.text);
    const command = blockAfter("\n", "sh", quick.end).text;
    const args = words(command);
    assert.equal(args[0], "deno");
    assert.equal(args.at(-1), "main.ts");
    const out = await run(args, app);
    assert.equal(text(out.stderr).includes("error"), false, text(out.stderr));
    assert.ok(out.success, text(out.stderr));
    assert.equal(text(out.stdout), "app jobs/resize image-42\n");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("the README's CLI install command from a checkout installs a working busrt", async () => {
  const { root, app } = await userProject();
  let broker: Deno.ChildProcess | null = null;
  try {
    const block = blockAfter("The CLI from a checkout needs", "sh").text;
    const [install, check] = block.split(/\n(?=busrt )/);
    const args = words(install);
    assert.deepEqual(args.slice(0, 3), ["deno", "install", "-g"]);
    const env = { DENO_INSTALL_ROOT: `${root}/install` };
    const installed = await run(args, app, env);
    assert.ok(installed.success, text(installed.stderr));
    const bin = `${root}/install/bin/busrt`;

    assert.equal(check.trim(), "busrt --version");
    const version = await run([bin, "--version"], app);
    assert.ok(version.success, text(version.stderr));
    assert.match(text(version.stdout), /^busrt \d+\.\d+\.\d+/);

    // the installed permissions are enough for the broker and a client command
    const sock = `${root}/bus.sock`;
    broker = new Deno.Command(bin, { args: ["serve", "-B", sock], stdout: "null", stderr: "piped" }).spawn();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const called = await run([bin, "-s", sock, "rpc", "call", ".broker", "test"], app);
      if (called.success) {
        assert.match(text(called.stdout), /"ok"/);
        break;
      }
      assert.ok(Date.now() < deadline, `client never got an answer: ${text(called.stderr)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    if (broker !== null) {
      broker.kill("SIGTERM");
      await broker.stderr.cancel();
      await broker.status;
    }
    await Deno.remove(root, { recursive: true });
  }
});
