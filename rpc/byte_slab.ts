/**
 * Small byte arrays carved out of larger slabs: allocating a fresh
 * `Uint8Array` costs several hundred nanoseconds (a backing store per
 * array), a view into a slab a tenth of that. Regions are never reused, so
 * a region handed out stays valid for as long as it is referenced.
 *
 * @module
 */

const SLAB_SIZE = 64 * 1024;
/** Larger requests get an array of their own. */
const MAX_SLAB_REQUEST = 4096;

let slab = new Uint8Array(SLAB_SIZE);
let used = 0;

/**
 * A zero-filled byte array of length `n`, usually a view into a shared slab.
 *
 * @param n the length in bytes
 * @returns a zero-filled array of `n` bytes, not shared with any other caller
 *
 * @example Two allocations do not overlap
 * ```ts
 * import assert from "node:assert/strict";
 * import { allocateBytes } from "./byte_slab.ts";
 * const a = allocateBytes(10);
 * const b = allocateBytes(10);
 * a[0] = 1;
 * assert.equal(a.length, 10);
 * assert.equal(b[0], 0);
 * ```
 */
export function allocateBytes(n: number): Uint8Array {
  if (n > MAX_SLAB_REQUEST) return new Uint8Array(n);
  if (used + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    used = 0;
  }
  const out = slab.subarray(used, used + n);
  // keep the next region 8-byte aligned, cheap insurance for DataView users
  used += (n + 7) & ~7;
  return out;
}
