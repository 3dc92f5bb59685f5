/**
 * The version shown by `busrt --version`: this package's version and the
 * protocol it speaks.
 *
 * @module
 */
import config from "../deno.json" with { type: "json" };
import { PROTOCOL_VERSION, VERSION } from "../protocol/constants.ts";

/** This package's version, from deno.json. */
export const PACKAGE_VERSION: string = config.version;

/** The line printed by `--version`. */
export function versionLine(): string {
  return `busrt ${PACKAGE_VERSION} (BUS/RT protocol v${PROTOCOL_VERSION}, compatible with busrt ${VERSION})`;
}
