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

/**
 * The byte the frame layouts use as a field separator (`sender\0payload`,
 * `sender\0topic\0payload`, docs/PROTOCOL.md §4.2, §5.1). A name carrying it
 * would split into other fields on the receiving side.
 */
export const FIELD_SEPARATOR = "\0";

/**
 * Whether a socket client may register under `name` (docs/PROTOCOL.md §3.2):
 * not empty, not starting with `.` (reserved for the broker's own clients),
 * and without the frame field separator NUL — so no name can pose as
 * another on the receiving side (`admin\0` as `admin`) or inject a topic
 * into its publications (`alice%%1\0secret/launch`).
 *
 * @example Names a socket client may and may not register
 * ```ts
 * import assert from "node:assert/strict";
 * import { isValidClientName } from "./names.ts";
 * assert.ok(isValidClientName("app%%1"));
 * assert.ok(!isValidClientName(""));
 * assert.ok(!isValidClientName(".broker"));
 * assert.ok(!isValidClientName("admin\0"));
 * ```
 *
 * @param name the decoded name from the registration message
 * @returns true when the name may register; otherwise the broker answers 0x72 (ERR_DATA)
 */
export function isValidClientName(name: string): boolean {
  return name.length > 0 && !name.startsWith(".") && !name.includes(FIELD_SEPARATOR);
}
