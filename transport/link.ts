/**
 * The byte-stream connection the broker and the clients speak over. Unix and
 * TCP connections (`Deno.Conn`) satisfy it directly; TLS and WebSocket links
 * are adapters that implement it.
 *
 * @module
 */
import { unexpectedEof } from "./portable_errors.ts";

/** A bidirectional byte stream. */
export interface Link {
  /**
   * Reads into `buf`; resolves with the byte count, or `null` at end of stream.
   *
   * @param buf where to store the bytes read
   * @returns the number of bytes read, or `null` at end of stream
   */
  read(buf: Uint8Array): Promise<number | null>;
  /**
   * Writes some of `data`; resolves with the number of bytes written.
   *
   * @param data the bytes to write
   * @returns the number of bytes written
   */
  write(data: Uint8Array): Promise<number>;
  /** Closes the stream. Must not throw when already closed. */
  close(): void;
}

/**
 * Closes a link, ignoring "already closed" errors.
 *
 * @param link the link to close
 */
export function closeQuietly(link: Link): void {
  try {
    link.close();
  } catch {
    // already closed
  }
}

/**
 * Writes all of `data` to the link.
 *
 * @param link the link to write to
 * @param data the bytes to write
 */
export async function writeAll(link: Link, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await link.write(off === 0 ? data : data.subarray(off));
}

/**
 * Reads exactly `n` bytes from the link, or throws `Deno.errors.UnexpectedEof`
 * (outside Deno, an `Error` of that name). Used only by handshakes, never on
 * the frame path.
 *
 * @param link the link to read from
 * @param n the number of bytes to read
 * @returns the `n` bytes
 */
export async function readExact(link: Link, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await link.read(off === 0 ? out : out.subarray(off));
    if (got === null) throw unexpectedEof("connection closed during handshake");
    off += got;
  }
  return out;
}
