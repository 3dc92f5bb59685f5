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
 * @example
 * ```ts
 * import { primaryName } from "./mod.ts";
 * console.assert(primaryName("app%%1") === "app");
 * ```
 */
export function primaryName(name: string): string {
  const i = name.indexOf(SECONDARY_SEP);
  return i === -1 ? name : name.slice(0, i);
}

/** Whether a name is a secondary (contains `%%`). */
export function isSecondaryName(name: string): boolean {
  return name.includes(SECONDARY_SEP);
}
