/**
 * Incremental frame decoders for both directions. Bytes arrive in any
 * chunking; {@linkcode ReadBuffer.readRegion} hands out space to read into,
 * and `next()` parses one complete frame at a time in place, without copying.
 *
 * @module
 */
import { BROKER_HEADER_SIZE, CLIENT_HEADER_SIZE, Op, type QoS } from "./constants.ts";
import { getU32 } from "./encode.ts";
import { flagsOp, flagsQos, isPingFlags } from "./flags.ts";

/** Thrown when a frame's length field exceeds the configured limit. */
export class FrameTooLargeError extends RangeError {
  /** The length the header announced. */
  readonly length: number;
  /**
   * Creates the error for an announced length and the limit.
   *
   * @param length the body length the header announced
   * @param limit the largest accepted body length
   */
  constructor(length: number, limit: number) {
    super(`Cannot accept a frame of ${length} bytes: the limit is ${limit}`);
    this.name = "FrameTooLargeError";
    this.length = length;
  }
}

const MIN_FREE = 2048;
/**
 * Unpooled frames from this size on are read into a staging buffer the reader
 * reuses until half the frame has arrived, then into the frame's own buffer:
 * the doubling chain of fresh buffers would cost twice the frame in new memory.
 */
const STAGED_FRAME = 4 * 1024 * 1024;
/** The largest staging buffer a reader keeps between frames (frames up to 17 MiB: 16 MiB payloads and headers). */
const STAGING_KEPT = 8.5 * 1024 * 1024;

/**
 * The buffer a large frame was read into, shared by everything that still
 * references its bytes (the queues writing its payload): counted references,
 * and back to its {@linkcode LargeBufferPool} when the last one lets go.
 * Whoever keeps a view of the bytes past the moment it was handed them calls
 * {@linkcode FrameStorage.retain} then, and {@linkcode FrameStorage.release}
 * when done.
 */
export class FrameStorage {
  /** The resizable storage of the frame. */
  readonly bytes: ArrayBuffer;
  #refs = 1;
  readonly #pool: LargeBufferPool | null;

  /**
   * Wraps a frame's storage, referenced once (by its reader).
   *
   * @param bytes the storage
   * @param pool where it goes when no longer referenced, or null
   */
  constructor(bytes: ArrayBuffer, pool: LargeBufferPool | null) {
    this.bytes = bytes;
    this.#pool = pool;
  }

  /** Adds a reference. */
  retain(): void {
    this.#refs++;
  }

  /** Drops a reference; the last one hands the storage to its pool. */
  release(): void {
    if (--this.#refs === 0) this.#pool?.put(this.bytes);
  }
}

/**
 * Resizable buffers of large frames whose bytes nobody references any more,
 * kept for the next large frame: memory already touched is much cheaper to
 * read into than fresh pages (on some virtual machines by two orders of
 * magnitude). At most `keepBytes` are kept; the rest is left to the
 * garbage collector.
 *
 * @example Take, put back, take again
 * ```ts
 * import assert from "node:assert/strict";
 * import { LargeBufferPool } from "./decode.ts";
 * const pool = new LargeBufferPool(1 << 20);
 * assert.equal(pool.take(1000), null);
 * const ab = new ArrayBuffer(4096, { maxByteLength: 65536 });
 * pool.put(ab);
 * assert.equal(pool.take(1 << 20), null); // over its maximum
 * assert.equal(pool.take(60000), ab);
 * ```
 */
export class LargeBufferPool {
  /** Most bytes kept. */
  readonly keepBytes: number;
  #free: ArrayBuffer[] = [];
  #bytes = 0;

  /**
   * Creates an empty pool.
   *
   * @param keepBytes the most bytes kept
   */
  constructor(keepBytes: number = 48 * 1024 * 1024) {
    this.keepBytes = keepBytes;
  }

  /** Bytes kept now. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * A kept buffer that can grow to `size` bytes (the most recently kept first), or null.
   *
   * @param size the frame size the buffer must be able to hold
   * @returns the buffer, no longer kept, or null
   */
  take(size: number): ArrayBuffer | null {
    const free = this.#free;
    for (let i = free.length - 1; i >= 0; i--) {
      const ab = free[i];
      if (ab.maxByteLength < size) continue;
      free.splice(i, 1);
      this.#bytes -= ab.byteLength;
      return ab;
    }
    return null;
  }

  /**
   * Keeps a buffer nobody references any more, if there is room.
   *
   * @param ab the buffer
   */
  put(ab: ArrayBuffer): void {
    if (this.#bytes + ab.byteLength > this.keepBytes) return;
    this.#free.push(ab);
    this.#bytes += ab.byteLength;
  }
}

/**
 * A growable read buffer holding unparsed bytes in `buf[start..end)`.
 *
 * A frame larger than the adaptive capacity is read into a buffer of its
 * own, exactly the frame's size once complete, so its bytes can be handed on
 * (shared by queues, given to the application) without a copy, and the
 * ordinary buffer is reused afterwards. That buffer grows as the body
 * arrives, never to more than twice the bytes received: a header alone claims
 * no memory for its body. With a {@linkcode LargeBufferPool} (the broker) it
 * is a resizable `ArrayBuffer` grown in place and reused for later frames;
 * without one (a client, whose payloads go to the application) it is a plain
 * buffer grown by copying, which costs less than fresh pages, and from 4 MiB
 * on the first half of the frame goes to a staging buffer the reader reuses
 * (up to 8.5 MiB kept, see {@linkcode ReadBuffer.releaseIdleStaging}).
 *
 * @example A large frame arrives in its own buffer, exactly sized
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientFrameDecoder } from "./decode.ts";
 * const body = new Uint8Array(300_000).fill(7);
 * const frame = new Uint8Array(9 + body.length);
 * frame[4] = 0x12; // MESSAGE, QoS 0
 * new DataView(frame.buffer).setUint32(5, body.length, true);
 * frame.set(body, 9);
 * const d = new ClientFrameDecoder();
 * let fed = 0;
 * while (!d.next()) {
 *   const region = d.readRegion();
 *   const n = Math.min(region.length, frame.length - fed, 65536);
 *   region.set(frame.subarray(fed, fed + n));
 *   d.commit(n);
 *   fed += n;
 * }
 * assert.ok(d.frameAlone);
 * assert.equal(d.buf.length, frame.length);
 * assert.deepEqual(d.buf.subarray(d.bodyStart, d.bodyEnd), body);
 * ```
 */
export class ReadBuffer {
  /** Underlying storage. */
  buf: Uint8Array;
  /** Offset of the first unparsed byte. */
  start = 0;
  /** Offset after the last received byte. */
  end = 0;
  /** Size of the incomplete frame at `start` (or its header), 0 when unknown. */
  protected need = 0;
  #baseSize: number;
  #maxAdaptive: number;
  #pinned = false;
  /** Where large frames' buffers come from and go back to (null: always new ones). */
  pool: LargeBufferPool | null = null;
  /** The buffer of a large frame being read (or just parsed), else null. */
  #large: ArrayBuffer | null = null;
  /** The reference to a pooled `#large` this reader holds (null without a pool: nothing to hand back). */
  #storage: FrameStorage | null = null;
  /** The ordinary buffer to go back to after a large frame (null: make a new one). */
  #home: Uint8Array | null = null;
  /** Reused memory for the first half of large unpooled frames (see `STAGED_FRAME`), or null. */
  #staging: Uint8Array | null = null;
  /** Whether `buf` views `#staging` (the first half of a large unpooled frame). */
  #inStaging = false;
  /** Whether a frame used the staging buffer since the last {@linkcode releaseIdleStaging}. */
  #stagedLately = false;

  /**
   * Creates an empty buffer.
   *
   * @param size initial capacity
   * @param maxAdaptive capacity the buffer may grow to when reads keep filling it;
   *   larger frames are read into buffers of their own
   */
  constructor(size = 8192, maxAdaptive = 262144) {
    this.#baseSize = size;
    this.#maxAdaptive = Math.max(size, maxAdaptive);
    this.buf = new Uint8Array(size);
  }

  /**
   * Whether the frame `next()` just returned sits alone in a buffer of its
   * own: the reader never writes to those bytes again, so they may be kept
   * (shared, handed out) without a copy and without {@linkcode detach}.
   */
  get frameAlone(): boolean {
    return this.#large !== null;
  }

  /**
   * The pooled storage of the frame `next()` just returned when it is alone
   * in it ({@linkcode frameAlone}), else null: retain it to keep its bytes
   * past the next read (an unpooled buffer is never reused: nothing to retain).
   */
  get frameStorage(): FrameStorage | null {
    return this.#storage;
  }

  /**
   * Declares that frames handed out still view the bytes parsed so far: they
   * are never overwritten. Reading continues after them in the same buffer
   * while it has room, then in a new buffer.
   */
  detach(): void {
    if (this.#large === null) this.#pinned = true; // a large frame's buffer is never reused anyway
  }

  /** Space to read into; call {@linkcode commit} with the count read. */
  readRegion(): Uint8Array {
    if (this.#large !== null) {
      const region = this.#largeRegion();
      if (region !== null) return region;
    } else if (this.need > this.#maxAdaptive && this.end - this.start < this.need) {
      const region = this.#startLarge();
      if (region !== null) return region;
    }
    const pending = this.end - this.start;
    let cap = this.buf.length;
    if (this.need > cap) {
      // A frame larger than the buffer grows it as its bytes arrive (doubling,
      // never past the frame): a header alone claims no memory for its body.
      if (cap - pending < MIN_FREE) cap = Math.min(this.need, Math.max(cap * 2, pending + MIN_FREE));
    } else if (cap > this.#maxAdaptive && this.need <= this.#maxAdaptive) {
      cap = Math.max(this.#maxAdaptive, pending); // shrink after a large frame
    }
    if (pending === 0 && !this.#pinned && cap === this.buf.length) {
      this.start = this.end = 0;
    } else if (
      cap !== this.buf.length || this.buf.length - this.end < MIN_FREE ||
      (this.start > 0 && this.buf.length - this.start < this.need)
    ) {
      if (this.#pinned || cap !== this.buf.length) {
        const next = new Uint8Array(Math.max(cap, pending + MIN_FREE));
        next.set(this.buf.subarray(this.start, this.end));
        this.buf = next;
        this.#pinned = false;
      } else {
        this.buf.copyWithin(0, this.start, this.end);
      }
      this.start = 0;
      this.end = pending;
    }
    return this.buf.subarray(this.end);
  }

  /**
   * Moves the start of a large frame (every pending byte belongs to it) into
   * a buffer of its own (pooled: resizable; unpooled: plain, or the staging
   * buffer from `STAGED_FRAME` on); null when one cannot be made (the
   * address space reservation failed), and the ordinary buffer grows instead.
   */
  #startLarge(): Uint8Array | null {
    const pending = this.end - this.start;
    const need = this.need;
    let large = this.pool?.take(need) ?? null;
    let buf: Uint8Array;
    if (large !== null) {
      // memory this process holds already: no allocation runs ahead of the bytes received
      if (large.byteLength < pending + MIN_FREE) large.resize(Math.min(need, pending + MIN_FREE));
      buf = new Uint8Array(large, 0, Math.min(need, large.byteLength));
    } else {
      const size = Math.min(need, Math.max(2 * pending, this.#maxAdaptive));
      if (this.pool === null && need >= STAGED_FRAME) return this.#startStaging(pending, need, size);
      try {
        // Pooled: a resizable buffer reserving the largest frame this reader accepts, so any later
        // frame can reuse it. Unpooled (its bytes are handed to the application for good): a plain
        // buffer, grown by copying, because the allocator recycles freed memory, while every new
        // resizable buffer costs fresh pages (about 10× slower to fill here).
        large = this.pool === null
          ? new ArrayBuffer(size)
          : new ArrayBuffer(size, { maxByteLength: Math.max(need, this.largestFrame) });
      } catch {
        return null;
      }
      buf = new Uint8Array(large);
    }
    buf.set(this.buf.subarray(this.start, this.end));
    this.#home = this.#pinned ? null : this.buf;
    this.#pinned = false;
    this.#large = large;
    this.#storage = this.pool === null ? null : new FrameStorage(large, this.pool);
    this.buf = buf;
    this.start = 0;
    this.end = pending;
    return buf.subarray(pending);
  }

  /**
   * Starts a large unpooled frame in the staging buffer: a view of `size`
   * bytes (the same bound as a buffer of its own), in memory kept from an
   * earlier frame when there is enough.
   */
  #startStaging(pending: number, need: number, size: number): Uint8Array {
    const staging = this.#stagingOf(Math.min(size, Math.ceil(need / 2)), 0);
    staging.set(this.buf.subarray(this.start, this.end));
    this.#home = this.#pinned ? null : this.buf;
    this.#pinned = false;
    this.#large = staging.buffer as ArrayBuffer;
    this.#inStaging = true;
    this.#stagedLately = true;
    this.buf = staging;
    this.start = 0;
    this.end = pending;
    return staging.subarray(pending);
  }

  /** A `size`-byte view of the staging buffer, grown (keeping its first `keep` bytes) if it is smaller. */
  #stagingOf(size: number, keep: number): Uint8Array {
    let staging = this.#staging;
    if (staging === null || staging.length < size) {
      const grown = new Uint8Array(size);
      if (staging !== null && keep > 0) grown.set(staging.subarray(0, keep));
      this.#staging = staging = grown;
    }
    return staging.subarray(0, size);
  }

  /**
   * The next region of a frame in staging: a larger view while less than half
   * the frame has arrived, then the frame's own buffer with those bytes.
   */
  #stagingRegion(have: number, need: number): Uint8Array {
    const half = Math.ceil(need / 2);
    if (this.buf.length - have >= MIN_FREE) return this.buf.subarray(have);
    if (this.buf.length < half) {
      this.buf = this.#stagingOf(Math.min(half, Math.max(2 * have, have + MIN_FREE)), have);
      this.#large = this.buf.buffer as ArrayBuffer;
      return this.buf.subarray(have);
    }
    // half the frame is in: its own buffer, exactly its size (within twice the bytes received)
    const own = new Uint8Array(need);
    own.set(this.buf.subarray(0, have));
    this.#inStaging = false;
    if (this.#staging !== null && this.#staging.length > STAGING_KEPT) this.#staging = null;
    this.#large = own.buffer;
    this.buf = own;
    return own.subarray(have);
  }

  /** The largest frame (header included) the reader accepts; subclasses know their limit. */
  protected get largestFrame(): number {
    return 0;
  }

  /**
   * The region of a large frame: grown in place while the frame is
   * incomplete; null once it has been parsed, after going back to the
   * ordinary buffer.
   */
  #largeRegion(): Uint8Array | null {
    const large = this.#large!;
    if (this.start === this.end) {
      // parsed (or never more than the header): back to the ordinary buffer
      this.#storage?.release();
      this.#dropLarge();
      this.buf = this.#home ?? new Uint8Array(this.#baseSize);
      this.#home = null;
      this.start = this.end = 0;
      return null;
    }
    const have = this.end;
    const need = this.need > 0 ? this.need : have;
    if (this.#inStaging) return this.#stagingRegion(have, need);
    if (this.buf.length - have < MIN_FREE && this.buf.length < need) {
      const size = Math.min(need, Math.max(2 * have, have + MIN_FREE));
      if (large.resizable) {
        if (large.byteLength < size) large.resize(size);
        this.buf = new Uint8Array(large, 0, size);
      } else {
        // unpooled: a larger plain buffer; the bytes so far are copied once per doubling (< 1× in all)
        const grown = new Uint8Array(size);
        grown.set(this.buf.subarray(0, have));
        this.#large = grown.buffer;
        this.buf = grown;
      }
    }
    return this.buf.subarray(have);
  }

  /** Forgets the large frame's buffer without handing it back (others may still view it). */
  #dropLarge(): void {
    this.#large = null;
    this.#storage = null;
    this.#inStaging = false;
  }

  /**
   * Records `n` bytes read into the region; grows the buffer if reads fill it.
   *
   * @param n the number of bytes read into the region
   */
  commit(n: number): void {
    const region = this.buf.length - this.end;
    this.end += n;
    if (
      n === region && this.#large === null && this.buf.length < this.#maxAdaptive &&
      this.need <= this.buf.length
    ) {
      const next = new Uint8Array(Math.min(this.buf.length * 2, this.#maxAdaptive));
      next.set(this.buf.subarray(this.start, this.end));
      this.end -= this.start;
      this.start = 0;
      this.buf = next;
      this.#pinned = false;
    }
  }

  /**
   * Copies a chunk in (tests, WebSocket messages).
   *
   * @param chunk the bytes received
   */
  feed(chunk: Uint8Array): void {
    // without a next() between regions `need` is stale; past the adaptive cap the region would be empty
    const total = this.end - this.start + chunk.length;
    if (total > this.need) this.need = total;
    let off = 0;
    while (off < chunk.length) {
      let region = this.readRegion();
      if (region.length === 0) region = this.#spill(chunk.length - off);
      const n = Math.min(region.length, chunk.length - off);
      region.set(chunk.subarray(off, off + n));
      this.commit(n);
      off += n;
    }
  }

  /** A complete large frame, not parsed yet, and `more` bytes after it: one ordinary buffer for all. */
  #spill(more: number): Uint8Array {
    const pending = this.end - this.start;
    const next = new Uint8Array(pending + more + MIN_FREE);
    next.set(this.buf.subarray(this.start, this.end));
    this.#dropLarge();
    this.#home = null;
    this.#pinned = false;
    this.buf = next;
    this.start = 0;
    this.end = pending;
    return next.subarray(pending);
  }

  /**
   * Lets the staging buffer of large frames go unless a frame used it since
   * the last call: call it now and then (a client does, at each ping), so a
   * connection that stopped receiving large frames keeps no spare memory.
   */
  releaseIdleStaging(): void {
    if (!this.#stagedLately && !this.#inStaging) this.#staging = null;
    this.#stagedLately = false;
  }

  /** Bytes received but not yet parsed. */
  get pending(): number {
    return this.end - this.start;
  }

  /** Drops the storage for good (the connection has ended): nothing stays referenced. */
  release(): void {
    this.buf = new Uint8Array(0);
    this.start = this.end = 0;
    this.need = 0;
    this.#dropLarge();
    this.#home = null;
    this.#staging = null;
  }

  /** Resets capacity to the initial size when empty (idle connections). */
  compact(): void {
    if (this.start === this.end && (this.buf.length > this.#baseSize || this.#large !== null)) {
      this.buf = new Uint8Array(this.#baseSize);
      this.start = this.end = 0;
      this.#dropLarge();
      this.#home = null;
      this.#staging = null;
    }
  }
}

/**
 * Decodes client → broker frames (9-byte header). After `next()` returns
 * true, the frame is described by `idAt`, `flags`, `bodyStart`, `bodyEnd`
 * over `buf`; {@linkcode ClientFrameDecoder.op} and
 * {@linkcode ClientFrameDecoder.qos} unpack the flags. A ping (flags 0) has no
 * body whatever its length field says.
 *
 * @example Decode a ping and a processed subscription
 * ```ts
 * import assert from "node:assert/strict";
 * import { Op, QoS } from "./constants.ts";
 * import { ClientFrameDecoder } from "./decode.ts";
 * const d = new ClientFrameDecoder();
 * d.feed(new Uint8Array(9)); // a ping
 * assert.ok(d.next());
 * assert.equal(d.flags, 0);
 * d.feed(new Uint8Array([7, 0, 0, 0, 0x42, 1, 0, 0, 0, 0x61])); // id 7, SUBSCRIBE QoS 1, "a"
 * assert.ok(d.next());
 * assert.equal(d.op, Op.Subscribe);
 * assert.equal(d.qos, QoS.Processed);
 * assert.equal(d.frameId, 7);
 * assert.equal(d.bodyEnd - d.bodyStart, 1);
 * ```
 */
export class ClientFrameDecoder extends ReadBuffer {
  /** Offset of the 4 frame id bytes. */
  idAt = 0;
  /** Flags byte: op in bits 0–5, QoS in bits 6–7 (see `protocol/flags.ts`). */
  flags = 0;
  /** Offset of the body. */
  bodyStart = 0;
  /** Offset after the body. */
  bodyEnd = 0;
  /** Largest accepted body length. */
  maxBody: number;

  /**
   * Creates a decoder with a body limit (default: none).
   *
   * @param maxBody the largest accepted body length
   * @param size the initial buffer capacity
   * @param maxAdaptive the capacity the buffer may grow to when reads keep filling it
   */
  constructor(maxBody = 0xffffffff, size?: number, maxAdaptive?: number) {
    super(size, maxAdaptive);
    this.maxBody = maxBody;
  }

  /** The largest frame accepted: the header and `maxBody`. */
  protected override get largestFrame(): number {
    return CLIENT_HEADER_SIZE + this.maxBody;
  }

  /** The frame id of the current frame. */
  get frameId(): number {
    return getU32(this.buf, this.idAt);
  }

  /** The operation code of the current frame (0 for a ping). */
  get op(): number {
    return flagsOp(this.flags);
  }

  /** The QoS of the current frame. */
  get qos(): QoS {
    return flagsQos(this.flags);
  }

  /**
   * Parses the next complete frame. Returns false when more bytes are needed.
   * Throws {@linkcode FrameTooLargeError} for a length over `maxBody`.
   */
  next(): boolean {
    const buf = this.buf;
    const s = this.start;
    if (this.end - s < CLIENT_HEADER_SIZE) {
      this.need = CLIENT_HEADER_SIZE;
      return false;
    }
    const flags = buf[s + 4];
    if (isPingFlags(flags)) {
      this.idAt = s;
      this.flags = 0;
      this.bodyStart = this.bodyEnd = s + CLIENT_HEADER_SIZE;
      this.start = this.bodyEnd;
      this.need = 0;
      return true;
    }
    const len = getU32(buf, s + 5);
    if (len > this.maxBody) throw new FrameTooLargeError(len, this.maxBody);
    const total = CLIENT_HEADER_SIZE + len;
    if (this.end - s < total) {
      this.need = total;
      return false;
    }
    this.idAt = s;
    this.flags = flags;
    this.bodyStart = s + CLIENT_HEADER_SIZE;
    this.bodyEnd = s + total;
    this.start = this.bodyEnd;
    this.need = 0;
    return true;
  }

  /** Whether a header has arrived but its body has not completed. */
  get inBody(): boolean {
    return this.need > CLIENT_HEADER_SIZE;
  }
}

/**
 * Decodes broker → client frames (6-byte header). After `next()` returns
 * true: `kind`; for data frames `realtime`, `bodyStart`, `bodyEnd`; for ACKs
 * `ackId` and `ackCode`. NOPs are returned with kind 0.
 */
export class BrokerFrameDecoder extends ReadBuffer {
  /** Frame kind byte (0 = NOP, 0xFE = ACK, else a data kind). */
  kind = 0;
  /** Realtime byte of a data frame. */
  realtime = false;
  /** Offset of a data frame's body. */
  bodyStart = 0;
  /** Offset after a data frame's body. */
  bodyEnd = 0;
  /** Frame id of an ACK. */
  ackId = 0;
  /** Result code of an ACK. */
  ackCode = 0;
  /** Largest accepted body length. */
  maxBody: number;

  /**
   * Creates a decoder with a body limit (default: none).
   *
   * @param maxBody the largest accepted body length
   * @param size the initial buffer capacity
   * @param maxAdaptive the capacity the buffer may grow to when reads keep filling it
   */
  constructor(maxBody = 0xffffffff, size?: number, maxAdaptive?: number) {
    super(size, maxAdaptive);
    this.maxBody = maxBody;
  }

  /** The largest frame accepted: the header and `maxBody`. */
  protected override get largestFrame(): number {
    return BROKER_HEADER_SIZE + this.maxBody;
  }

  /** Parses the next complete frame; false when more bytes are needed. */
  next(): boolean {
    const buf = this.buf;
    const s = this.start;
    if (this.end - s < BROKER_HEADER_SIZE) {
      this.need = BROKER_HEADER_SIZE;
      return false;
    }
    const kind = buf[s];
    this.kind = kind;
    if (kind === Op.Nop) {
      this.start = s + BROKER_HEADER_SIZE;
      this.need = 0;
      return true;
    }
    if (kind === Op.Ack) {
      this.ackId = getU32(buf, s + 1);
      this.ackCode = buf[s + 5];
      this.start = s + BROKER_HEADER_SIZE;
      this.need = 0;
      return true;
    }
    const len = getU32(buf, s + 1);
    if (len > this.maxBody) throw new FrameTooLargeError(len, this.maxBody);
    const total = BROKER_HEADER_SIZE + len;
    if (this.end - s < total) {
      this.need = total;
      return false;
    }
    this.realtime = buf[s + 5] !== 0;
    this.bodyStart = s + BROKER_HEADER_SIZE;
    this.bodyEnd = s + total;
    this.start = this.bodyEnd;
    this.need = 0;
    return true;
  }
}
