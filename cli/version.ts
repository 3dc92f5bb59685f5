/**
 * The version shown by `busrt --version`: this package's version and the
 * protocol it speaks.
 *
 * @module
 */
import { PROTOCOL_VERSION, REFERENCE_VERSION, VERSION } from "../protocol/constants.ts";

/** This package's version (the constant `VERSION`, kept equal to deno.json's by a test). */
export const PACKAGE_VERSION: string = VERSION;

/**
 * The line printed by `--version` (and logged by `serve` at start).
 *
 * @example This package's version first
 * ```ts
 * import assert from "node:assert/strict";
 * import { VERSION } from "../protocol/constants.ts";
 * import { versionLine } from "./version.ts";
 * assert.ok(versionLine().startsWith(`busrt ${VERSION} (BUS/RT protocol v1, compatible with busrt 0.5.6)`));
 * ```
 *
 * @returns `busrt <version> (BUS/RT protocol v1, compatible with busrt <reference version>)`
 */
export function versionLine(): string {
  return `busrt ${PACKAGE_VERSION} (BUS/RT protocol v${PROTOCOL_VERSION}, compatible with busrt ${REFERENCE_VERSION})`;
}
