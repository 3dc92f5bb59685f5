#!/usr/bin/env -S deno run --allow-read --allow-write --allow-net --allow-sys=hostname
/**
 * The `busrt` command line: a stand-alone BUS/RT broker (`serve`) and a
 * client tool (`listen`, `send`, `publish`, `rpc call`, `client list`,
 * `benchmark` …). Run it with `deno run`, or compile it with `deno task compile`.
 *
 * @example Start a broker and call its core RPC
 * ```sh
 * deno run -A cli.ts serve -B /tmp/busrt.sock
 * deno run -A cli.ts rpc call .broker test
 * ```
 *
 * @module
 */
import { main } from "./cli/main.ts";

export { main };

if (import.meta.main) Deno.exit(await main(Deno.args));
