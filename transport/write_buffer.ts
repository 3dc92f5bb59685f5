/**
 * Batched writing: frames are appended into one buffer and written to the link
 * once per microtask, at a size threshold, or at once for realtime frames.
 * While a write is in flight, new frames go into a second buffer.
 *
 * @module
 */
import type { FrameSink } from "../protocol/encode.ts";
import type { Link } from "./link.ts";

const MIN_CAPACITY = 128;
const EMPTY = new Uint8Array(0);
/** Buffers up to this size are not kept for reuse. */
const SMALL_BUFFER = 4096;
/** Microtask hops without new data before a scheduled flush writes. */
const IDLE_HOPS = 3;
/** Upper bound of hops a scheduled flush waits in total. */
const MAX_HOPS = 64;

/** Options of a {@linkcode WriteBuffer}. */
export interface WriteBufferOptions {
  /** Bytes pending that trigger a write without waiting for the microtask. */
  flushThreshold?: number;
  /** Capacity kept after a write; larger buffers are released. */
  keepCapacity?: number;
  /** Delay of scheduled flushes in microseconds; below 1000 a microtask is used. */
  bufTtlMicros?: number;
  /** Called once when a write fails. */
  onError?: (err: unknown) => void;
}

/**
 * A double-buffered, batched writer over a {@linkcode Link}.
 *
 * Encoders append with {@linkcode WriteBuffer.reserve}, fill `buf` from the
 * returned offset, then call {@linkcode WriteBuffer.commit}.
 */
export class WriteBuffer implements FrameSink {
  /** The buffer being filled. Valid up to `len`. */
  buf: Uint8Array;
  /** Bytes pending in `buf`. */
  len = 0;
  /** Frames pending in `buf` (not yet handed to the link). */
  frames = 0;
  /** Frames in the write currently in flight. */
  framesInFlight = 0;
  /** Bytes of the write in flight that the link has not taken yet. */
  bytesInFlight = 0;
  /**
   * `performance.now()` of the last progress of the write in flight (when it
   * started, or when the link last took some of its bytes), or 0 when no
   * write is in flight. A write timeout compares against it: a slow reader
   * that keeps taking bytes is never timed out by the size of a batch.
   */
  lastProgressAt = 0;

  #link: Link;
  #spare: Uint8Array | null = null;
  #writing = false;
  #scheduled = false;
  #failed: unknown = null;
  #closed = false;
  #threshold: number;
  #keep: number;
  #ttlMs: number;
  #onError?: (err: unknown) => void;
  #appended = 0;
  #written = 0;
  #waiters: { at: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #timerFlush: (() => void) | null = null;
  #seenLen = 0;
  #idleHops = 0;
  #hops = 0;
  // A producer that appends across microtasks (e.g. a `for await` loop
  // replying per frame) keeps the flush deferred until it pauses, so its
  // frames share one write. An idle hop costs well under a microsecond.
  readonly #flushTask = () => {
    if (this.#writing || this.len === 0) {
      this.#scheduled = false;
      return;
    }
    if (this.len !== this.#seenLen) {
      this.#seenLen = this.len;
      this.#idleHops = 0;
    } else this.#idleHops++;
    if (this.#idleHops < IDLE_HOPS && ++this.#hops < MAX_HOPS) {
      queueMicrotask(this.#flushTask);
      return;
    }
    this.#scheduled = false;
    this.#pump();
  };

  /**
   * Creates a writer for a link.
   *
   * @param link the link to write to
   * @param options flush threshold, kept capacity, `buf_ttl` and error callback
   */
  constructor(link: Link, options: WriteBufferOptions = {}) {
    this.#link = link;
    this.#threshold = options.flushThreshold ?? 65536;
    this.#keep = Math.max(options.keepCapacity ?? 262144, MIN_CAPACITY);
    const ttl = options.bufTtlMicros ?? 0;
    this.#ttlMs = ttl >= 1000 ? ttl / 1000 : 0;
    this.#onError = options.onError;
    this.buf = EMPTY;
  }

  /** Frames waiting to be written, including the write in flight. */
  get pendingFrames(): number {
    return this.frames + this.framesInFlight;
  }

  /** Bytes waiting to be written, including what the write in flight has left. */
  get pendingBytes(): number {
    return this.len + this.bytesInFlight;
  }

  /** Whether a write failed or the writer was closed. */
  get broken(): boolean {
    return this.#failed !== null || this.#closed;
  }

  /**
   * Makes room for `n` more bytes; returns the offset to write them at.
   *
   * @param n the number of bytes to reserve
   * @returns the offset in `buf` to write them at
   */
  reserve(n: number): number {
    const need = this.len + n;
    if (need > this.buf.length) this.#grow(need);
    return this.len;
  }

  /**
   * Marks `n` reserved bytes as one frame (or `frames` frames) and arranges
   * the flush: at once if `instant`, otherwise once per microtask.
   *
   * @param n the number of bytes written
   * @param instant whether to flush at once (realtime)
   * @param frames the number of frames the bytes hold
   */
  commit(n: number, instant: boolean, frames = 1): void {
    if (this.#failed !== null) {
      this.#release(); // nothing more will be written: keep no bytes
      return;
    }
    this.len += n;
    this.frames += frames;
    this.#appended += n;
    if (this.#writing) return; // the running write loop picks it up
    if (instant || this.len >= this.#threshold) {
      this.#pump();
    } else if (!this.#scheduled) {
      this.#scheduled = true;
      this.#seenLen = this.len;
      this.#idleHops = 0;
      this.#hops = 0;
      if (this.#ttlMs > 0) {
        setTimeout(
          this.#timerFlush ??= () => {
            this.#scheduled = false;
            if (!this.#writing && this.len > 0) this.#pump();
          },
          this.#ttlMs,
        );
      } else queueMicrotask(this.#flushTask);
    }
  }

  /** Resolves when everything appended so far has been written to the link. */
  flush(): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed);
    if (this.#written >= this.#appended) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#waiters.push({ at: this.#appended, resolve, reject });
    if (!this.#writing) this.#pump();
    return promise;
  }

  /**
   * Stops accepting writes; pending waiters are rejected with `reason`.
   *
   * @param reason the error pending and later flushes reject with
   */
  close(reason: unknown = new Error("writer closed")): void {
    this.#closed = true;
    if (this.#failed === null) this.#failed = reason;
    for (const w of this.#waiters) w.reject(reason);
    this.#waiters.length = 0;
    this.#release();
  }

  /** Drops every buffer: a closed writer holds no bytes, whoever still references it. */
  #release(): void {
    this.buf = EMPTY;
    this.#spare = null;
    this.len = 0;
    this.frames = 0;
  }

  #grow(need: number): void {
    let cap = Math.max(this.buf.length * 2, MIN_CAPACITY);
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  async #pump(): Promise<void> {
    if (this.#failed !== null) {
      this.#release();
      return;
    }
    this.#writing = true;
    try {
      while (this.len > 0) {
        const out = this.buf.subarray(0, this.len);
        this.framesInFlight = this.frames;
        // the next batch starts in the spare buffer, or grows from empty
        this.buf = this.#spare ?? EMPTY;
        this.#spare = null;
        this.len = 0;
        this.frames = 0;
        this.lastProgressAt = performance.now();
        this.bytesInFlight = out.length;
        let off = 0;
        while (off < out.length) {
          off += await this.#link.write(off === 0 ? out : out.subarray(off));
          this.lastProgressAt = performance.now();
          this.bytesInFlight = out.length - off;
        }
        this.#written += out.length;
        this.framesInFlight = 0;
        this.bytesInFlight = 0;
        this.lastProgressAt = 0;
        // small buffers are cheap to make again; idle connections then hold none
        const cap = out.buffer.byteLength;
        if (cap > SMALL_BUFFER && cap <= this.#keep) this.#spare = new Uint8Array(out.buffer);
        if (this.#waiters.length > 0) this.#wake();
      }
    } catch (err) {
      this.framesInFlight = 0;
      this.bytesInFlight = 0;
      this.lastProgressAt = 0;
      if (this.#failed === null) this.#failed = err;
      for (const w of this.#waiters) w.reject(err);
      this.#waiters.length = 0;
      this.#release();
      this.#onError?.(err);
    } finally {
      this.#writing = false;
    }
  }

  #wake(): void {
    let i = 0;
    while (i < this.#waiters.length && this.#waiters[i].at <= this.#written) {
      this.#waiters[i].resolve();
      i++;
    }
    if (i > 0) this.#waiters.splice(0, i);
  }
}
