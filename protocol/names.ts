/**
 * Client names: primary/secondary rules. (Addresses are parsed by
 * `transport/address.ts`.)
 *
 * @module
 */
import { SECONDARY_SEP } from "./constants.ts";

/**
 * The primary name of a client: the part before the first `%%`, or the whole name.
 *
 * @example Strip the secondary suffix
 * ```ts
 * import assert from "node:assert/strict";
 * import { primaryName } from "./mod.ts";
 * assert.equal(primaryName("app%%1"), "app");
 * assert.equal(primaryName("app"), "app");
 * ```
 *
 * @param name a client name
 * @returns the primary name
 */
export function primaryName(name: string): string {
  const i = name.indexOf(SECONDARY_SEP);
  return i === -1 ? name : name.slice(0, i);
}

/**
 * Whether a name is a secondary (contains `%%`).
 *
 * @param name a client name
 * @returns true for a secondary name
 */
export function isSecondaryName(name: string): boolean {
  return name.includes(SECONDARY_SEP);
}
