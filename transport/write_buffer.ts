/**
 * Batched writing: frames are appended into one buffer and written to the link
 * once the microtasks stop adding to it, after `buf_ttl`, or at a size
 * threshold. Realtime frames never wait for a timer: they go out with the
 * current run of microtasks (an ACK and a reply or delivery produced right
 * after it share one write). While a write is in flight, new frames go into a
 * second buffer.
 *
 * @module
 */
import type { FrameSink } from "../protocol/encode.ts";
import type { Link } from "./link.ts";

const MIN_CAPACITY = 128;
const EMPTY = new Uint8Array(0);
/** Buffers up to this size are not kept by a writer for reuse. */
const SMALL_BUFFER = 4096;
/**
 * Small batch buffers shared by the writers of the process, by capacity
 * (128 B … 4 KiB, a list per power of two): a batch takes one of its size
 * and gives it back once written, so a request/reply exchange allocates no
 * buffer per write, and an idle connection still holds none. At most
 * `SMALL_POOL_MAX` are kept per size.
 */
const smallPools: Uint8Array[][] = [[], [], [], [], [], []];
const SMALL_POOL_MAX = 64;

/** The pool of buffers of `cap` bytes (a power of two from `MIN_CAPACITY` to `SMALL_BUFFER`). */
function smallPool(cap: number): Uint8Array[] {
  return smallPools[24 - Math.clz32(cap)]; // 128 → 0 … 4096 → 5
}
/**
 * A batch that outgrows the kept capacity while a write is in flight (a peer
 * reading slower than the producer, e.g. over a unix socket, whose kernel
 * buffer holds ~200 KiB) continues in chunks of this size instead of being
 * regrown and copied: each chunk becomes a piece of the next write, and the
 * writer reuses the chunks written (at most `CHUNKS_KEPT`), so a steady or
 * recurring backlog of mid-size frames allocates no fresh memory per write;
 * the first write done `CHUNK_LINGER_MS` after the last backlog lets them go.
 */
const CHUNK = 262144;
const CHUNKS_KEPT = 32;
/** How long after the last backlog its chunks are kept (let go at the first write after). */
const CHUNK_LINGER_MS = 1000;

/** Microtask hops without new data before a scheduled flush writes. */
const IDLE_HOPS = 3;
/** Upper bound of hops a scheduled flush waits in total. */
const MAX_HOPS = 64;

/**
 * Who keeps shared bytes alive (e.g. `FrameStorage` of `protocol/decode.ts`):
 * {@linkcode WriteBuffer.share} retains it, and releases it once the bytes
 * are written or dropped.
 */
export interface SharedBytesOwner {
  /** Adds a reference. */
  retain(): void;
  /** Drops a reference. */
  release(): void;
}

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
  /**
   * The pending batch before `buf[#tail..len)` when payloads are shared:
   * sealed parts of `buf` and the shared payloads, in write order.
   */
  #pieces: Uint8Array[] = [];
  /** The owner of each of `#pieces` that has one (shared payloads), else null. */
  #owners: (SharedBytesOwner | null)[] = [];
  /** Owners of the pieces of the write in flight not written yet. */
  #inFlightOwners: (SharedBytesOwner | null)[] = [];
  /** Where the part of `buf` not sealed into `#pieces` starts. */
  #tail = 0;
  /** Bytes in `#pieces` not counted in `len` (shared payloads, sealed chunks). */
  #sharedLen = 0;
  /** Chunks sealed into `#pieces` by `#grow`, reused once written. */
  #sealed: Uint8Array[] = [];
  /** Chunks written, for the rest of the backlog and the next one. */
  #chunks: Uint8Array[] = [];
  /** `performance.now()` when a batch last went on in a chunk. */
  #chunkedAt = 0;
  #writing = false;
  /** A microtask flush is on its way. */
  #chained = false;
  /** A `buf_ttl` timer is armed. */
  #timed = false;
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
      this.#chained = false;
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
    this.#chained = false;
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

  /** Bytes waiting to be written (shared payloads included), with what the write in flight has left. */
  get pendingBytes(): number {
    return this.len + this.#sharedLen + this.bytesInFlight;
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
   * the flush: with the current run of microtasks if `instant` (realtime) or
   * without `buf_ttl`, otherwise after `buf_ttl`.
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
    this.#arrange(instant);
  }

  /**
   * Appends `bytes` by reference, without copying them: the payload of a
   * frame whose head was just committed, shared by every recipient of a
   * publication or broadcast. The caller must not change the bytes until
   * they are written (the broker's read buffers are never reused once a
   * frame's payload is shared).
   *
   * @param bytes the bytes to write next
   * @param instant whether to flush at once (realtime)
   * @param owner who keeps the bytes alive: retained now, released once they are written or dropped
   */
  share(bytes: Uint8Array, instant: boolean, owner: SharedBytesOwner | null = null): void {
    if (this.#failed !== null) {
      this.#release();
      return;
    }
    if (this.len > this.#tail) {
      this.#pieces.push(this.buf.subarray(this.#tail, this.len));
      this.#owners.push(null);
    }
    owner?.retain();
    this.#pieces.push(bytes);
    this.#owners.push(owner);
    this.#tail = this.len;
    this.#sharedLen += bytes.length;
    this.#appended += bytes.length;
    this.#arrange(instant);
  }

  /** Starts the write at once, or schedules it, after an append. */
  #arrange(instant: boolean): void {
    if (this.#writing) return; // the running write loop picks it up
    if (this.len + this.#sharedLen >= this.#threshold) {
      this.#pump();
    } else if (instant || this.#ttlMs === 0) {
      // Not a write per realtime frame: what the same run of microtasks adds
      // (the reply or delivery that follows an ACK) rides along, and no
      // timer is waited for.
      if (this.#chained) return;
      this.#chained = true;
      this.#seenLen = this.len;
      this.#idleHops = 0;
      this.#hops = 0;
      queueMicrotask(this.#flushTask);
    } else if (!this.#timed) {
      this.#timed = true;
      setTimeout(
        this.#timerFlush ??= () => {
          this.#timed = false;
          if (!this.#writing && this.len > 0) this.#pump();
        },
        this.#ttlMs,
      );
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
    this.#pieces = [];
    this.#sealed = [];
    this.#chunks = [];
    releaseAll(this.#owners);
    this.#owners = [];
    this.#tail = 0;
    this.#sharedLen = 0;
    this.len = 0;
    this.frames = 0;
  }

  #grow(need: number): void {
    // bytes before #tail are sealed into #pieces (which keep the old buffer): only the rest moves
    const tail = this.#tail;
    need -= tail;
    const carried = this.len - tail;
    if (need > this.#keep && carried > 0) {
      // past the kept capacity: seal what is there as a piece and go on in a chunk, no copy
      this.#pieces.push(this.buf.subarray(tail, this.len));
      this.#owners.push(null);
      this.#sealed.push(this.buf);
      this.#sharedLen += carried;
      this.#chunkedAt = performance.now();
      this.len = this.#tail = 0;
      need -= carried;
      const chunk = need <= CHUNK ? this.#chunks.pop() ?? new Uint8Array(CHUNK) : null;
      this.buf = chunk ?? new Uint8Array(need);
      return;
    }
    let cap = Math.max(this.buf.length * 2, MIN_CAPACITY);
    while (cap < need) cap *= 2;
    const next = cap <= SMALL_BUFFER ? smallPool(cap).pop() ?? new Uint8Array(cap) : new Uint8Array(cap);
    next.set(this.buf.subarray(tail, this.len));
    this.buf = next;
    this.len -= tail;
    this.#tail = 0;
  }

  async #pump(): Promise<void> {
    if (this.#failed !== null) {
      this.#release();
      return;
    }
    this.#writing = true;
    try {
      while (this.len > 0 || this.#pieces.length > 0) {
        const batch = this.buf;
        let pieces: Uint8Array[] | null = null;
        let total = this.len;
        let sealed: Uint8Array[] | null = null;
        if (this.#pieces.length > 0) {
          pieces = this.#pieces;
          if (this.#sealed.length > 0) {
            sealed = this.#sealed;
            this.#sealed = [];
          }
          const owners = this.#inFlightOwners = this.#owners;
          if (this.len > this.#tail) {
            pieces.push(batch.subarray(this.#tail, this.len));
            owners.push(null);
          }
          this.#pieces = [];
          this.#owners = [];
          total = 0;
          for (const piece of pieces) total += piece.length;
          this.#tail = 0;
          this.#sharedLen = 0;
        }
        const out = batch.subarray(0, this.len);
        this.framesInFlight = this.frames;
        // the next batch starts in the spare buffer, or grows from empty
        this.buf = this.#spare ?? EMPTY;
        this.#spare = null;
        this.len = 0;
        this.frames = 0;
        this.lastProgressAt = performance.now();
        this.bytesInFlight = total;
        if (pieces === null) {
          // the common case, inline: no extra promise per batch
          let off = 0;
          while (off < out.length) {
            off += await this.#link.write(off === 0 ? out : out.subarray(off));
            if (off < out.length) this.#progress(out.length - off);
          }
        } else {
          const owners = this.#inFlightOwners;
          for (let i = 0; i < pieces.length; i++) {
            await this.#writeOut(pieces[i]);
            const owner = owners[i];
            if (owner !== null) {
              owners[i] = null;
              owner.release();
            }
          }
          this.#inFlightOwners = [];
          if (sealed !== null) {
            for (const chunk of sealed) {
              if (chunk.length === CHUNK && this.#chunks.length < CHUNKS_KEPT) this.#chunks.push(chunk);
            }
          }
        }
        this.#written += total;
        this.framesInFlight = 0;
        this.bytesInFlight = 0;
        this.lastProgressAt = 0;
        // small buffers are cheap to make again; idle connections then hold none
        const cap = batch.buffer.byteLength;
        if (cap > SMALL_BUFFER && cap <= this.#keep) this.#spare = new Uint8Array(batch.buffer);
        else if (cap <= SMALL_BUFFER && batch.length === cap && cap >= MIN_CAPACITY) {
          const pool = smallPool(cap);
          if (pool.length < SMALL_POOL_MAX) pool.push(batch);
        } else if (cap === CHUNK && batch.length === CHUNK && this.#chunks.length < CHUNKS_KEPT) {
          this.#chunks.push(batch); // a chunk past a small kept capacity
        }
        if (this.#waiters.length > 0) this.#wake();
      }
      // everything is written: the chunks are kept for the next backlog only if there was one lately
      if (this.#chunks.length > 0 && performance.now() - this.#chunkedAt > CHUNK_LINGER_MS) this.#chunks = [];
    } catch (err) {
      releaseAll(this.#inFlightOwners);
      this.#inFlightOwners = [];
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

  /** Writes all of `piece` (one of several of a batch), recording progress after every write. */
  async #writeOut(piece: Uint8Array): Promise<void> {
    let off = 0;
    while (off < piece.length) {
      const n = await this.#link.write(off === 0 ? piece : piece.subarray(off));
      off += n;
      this.#progress(this.bytesInFlight - n);
    }
  }

  /** A write took some bytes: `left` of the batch remain. */
  #progress(left: number): void {
    this.bytesInFlight = left;
    this.lastProgressAt = performance.now();
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

/** Releases every owner in `owners` (nulls skipped). */
function releaseAll(owners: (SharedBytesOwner | null)[]): void {
  for (const owner of owners) owner?.release();
}
