/**
 * The two values the routing hot path hands around: a {@linkcode Topic}
 * (built once per distinct topic, in every form a sink or the matcher
 * needs) and a {@linkcode RoutedPayload} (a slice of the buffer a frame
 * arrived in, reused frame after frame by its producer).
 *
 * @module
 */
import type { FrameStorage } from "../protocol/decode.ts";
import { encodeUtf8 } from "../protocol/text.ts";

const EMPTY = new Uint8Array(0);

/**
 * A publication topic in the three forms routing needs: the text (for
 * in-process frames and access checks), its `/`-separated segments (for
 * subscription matching) and its UTF-8 bytes followed by NUL (written as-is
 * into delivered frames).
 *
 * @example Build a topic once, use each form
 * ```ts
 * import assert from "node:assert/strict";
 * import { Topic } from "./routed.ts";
 * const topic = Topic.of("sensors/t1");
 * assert.deepEqual(topic.segments, ["sensors", "t1"]);
 * assert.equal(topic.nulTerminated.length, 11);
 * assert.equal(topic.nulTerminated[10], 0);
 * ```
 */
export class Topic {
  /** The topic text. */
  readonly text: string;
  /** The text split on `/`. */
  readonly segments: readonly string[];
  /** UTF-8 bytes of the text followed by one NUL byte. */
  readonly nulTerminated: Uint8Array;

  private constructor(text: string, nulTerminated: Uint8Array) {
    this.text = text;
    this.segments = text.split("/");
    this.nulTerminated = nulTerminated;
  }

  /**
   * Builds a topic from its text.
   *
   * @param text the topic
   * @returns the topic in all three forms
   */
  static of(text: string): Topic {
    const bytes = encodeUtf8(text);
    const z = new Uint8Array(bytes.length + 1);
    z.set(bytes);
    return new Topic(text, z);
  }

  /**
   * Builds a topic from already decoded text and its bytes in a frame
   * (`buf[start..nul]`, the NUL included), copying the bytes.
   *
   * @param text the decoded topic
   * @param buf the frame buffer
   * @param start where the topic starts in `buf`
   * @param nul where its terminating NUL is in `buf`
   * @returns the topic
   */
  static fromFrame(text: string, buf: Uint8Array, start: number, nul: number): Topic {
    return new Topic(text, buf.slice(start, nul + 1));
  }

  /**
   * Whether `buf[start..nul]` (NUL included) holds this topic's bytes: a
   * sender usually repeats its topic, so a session compares before decoding.
   *
   * @param buf the frame buffer
   * @param start where the topic starts in `buf`
   * @param nul where its terminating NUL is in `buf`
   * @returns true for the same bytes
   */
  sameBytes(buf: Uint8Array, start: number, nul: number): boolean {
    const z = this.nulTerminated;
    const n = nul + 1 - start;
    if (n !== z.length) return false;
    for (let i = 0; i < n; i++) if (buf[start + i] !== z[i]) return false;
    return true;
  }
}

/**
 * The payload of the frame being routed: `src[start..end)`, plus the byte
 * count that statistics record for it (`size`: the whole frame body for a
 * socket client, the payload for an in-process one). A producer refills one
 * instance per frame; anything that keeps it past the synchronous part of
 * routing takes a {@linkcode RoutedPayload.snapshot}.
 *
 * @example Refill, then snapshot before waiting
 * ```ts
 * import assert from "node:assert/strict";
 * import { RoutedPayload } from "./routed.ts";
 * const p = new RoutedPayload();
 * p.set(new Uint8Array([1, 2, 3, 4]), 1, 3, 4);
 * const kept = p.snapshot();
 * p.set(new Uint8Array(0), 0, 0, 0);
 * assert.deepEqual([...kept.bytes()], [2, 3]);
 * assert.equal(kept.size, 4);
 * ```
 */
export class RoutedPayload {
  /** The buffer holding the payload. */
  src: Uint8Array = EMPTY;
  /** First payload byte in `src`. */
  start = 0;
  /** End of the payload in `src` (exclusive). */
  end = 0;
  /** Bytes counted by statistics for this frame. */
  size = 0;
  /**
   * Whether sinks may keep a reference to the bytes instead of copying them:
   * the producer promises never to change them (a broker session sets it
   * for large payloads and then stops reusing the read buffer they are in).
   */
  shareable = false;
  /**
   * Whether the bytes sit alone in a buffer of their own (a large frame's,
   * see `ReadBuffer.frameAlone`): sharing them then costs nothing, even with
   * a single recipient.
   */
  alone = false;
  /**
   * The storage of a payload that is `alone`, when it is counted: a sink
   * that keeps a view of the bytes passes it to `WriteBuffer.share`, which
   * retains it until they are written. Reset by {@linkcode RoutedPayload.set}.
   */
  storage: FrameStorage | null = null;

  /**
   * Points at a new payload.
   *
   * @param src the buffer
   * @param start first payload byte
   * @param end end of the payload (exclusive)
   * @param size bytes counted by statistics
   * @param shareable whether sinks may reference the bytes instead of copying them
   * @param alone whether the bytes sit alone in a buffer of their own (shared even with one recipient)
   */
  set(src: Uint8Array, start: number, end: number, size: number, shareable = false, alone = false): void {
    this.src = src;
    this.start = start;
    this.end = end;
    this.size = size;
    this.shareable = shareable || alone;
    this.alone = alone;
    this.storage = null;
  }

  /** @returns a copy of the fields (the bytes themselves are shared) */
  snapshot(): RoutedPayload {
    const copy = new RoutedPayload();
    copy.set(this.src, this.start, this.end, this.size, this.shareable, this.alone);
    copy.storage = this.storage;
    return copy;
  }

  /** @returns a copy of the payload bytes */
  bytes(): Uint8Array {
    return this.end > this.start ? this.src.slice(this.start, this.end) : EMPTY;
  }
}
