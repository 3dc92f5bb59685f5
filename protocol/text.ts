/**
 * UTF-8 conversion tuned for the short names and topics of the hot path.
 *
 * @module
 */

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

/**
 * Decodes `buf[start..end)` as strict UTF-8. Returns `null` for invalid UTF-8.
 * Short ASCII strings take a loop that is much cheaper than TextDecoder.
 *
 * @param buf the bytes
 * @param start the offset of the first byte
 * @param end the offset after the last byte
 * @returns the string, or `null` for invalid UTF-8
 */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string | null {
  const n = end - start;
  if (n <= 64) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (buf[i] > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      // String.fromCharCode.apply over a subarray avoids building an array
      return String.fromCharCode.apply(
        null,
        buf.subarray(start, end) as unknown as number[],
      );
    }
  }
  try {
    return fatalDecoder.decode(buf.subarray(start, end));
  } catch {
    return null;
  }
}

/**
 * Encodes a string as UTF-8.
 *
 * @param text the string
 * @returns its UTF-8 bytes
 */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Returns the UTF-8 bytes of `data`, which may already be bytes.
 *
 * @param data bytes (returned as they are) or a string
 * @returns the bytes
 */
export function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/**
 * Whether `buf[aStart..aEnd)` equals all of `b`.
 *
 * @param buf the bytes holding the first range
 * @param aStart the offset of the range
 * @param aEnd the offset after the range
 * @param b the bytes to compare with
 * @returns true when the range and `b` are equal
 */
export function bytesEqual(buf: Uint8Array, aStart: number, aEnd: number, b: Uint8Array): boolean {
  const n = aEnd - aStart;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) {
    if (buf[aStart + i] !== b[i]) return false;
  }
  return true;
}

/**
 * Index of the first 0x00 in `buf[start..end)`, or -1.
 *
 * @param buf the bytes
 * @param start the offset to search from
 * @param end the offset to search up to (exclusive)
 * @returns the index of the NUL, or -1
 */
export function indexOfNul(buf: Uint8Array, start: number, end: number): number {
  // a plain loop beats the indexOf builtin call for the short names and topics scanned here
  for (let i = start; i < end; i++) if (buf[i] === 0) return i;
  return -1;
}
