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
 * A growable read buffer holding unparsed bytes in `buf[start..end)`.
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

  /**
   * Creates an empty buffer.
   *
   * @param size initial capacity
   * @param maxAdaptive capacity the buffer may grow to when reads keep filling it
   */
  constructor(size = 8192, maxAdaptive = 262144) {
    this.#baseSize = size;
    this.#maxAdaptive = Math.max(size, maxAdaptive);
    this.buf = new Uint8Array(size);
  }

  /**
   * Declares that frames handed out still view the bytes parsed so far: they
   * are never overwritten. Reading continues after them in the same buffer
   * while it has room, then in a new buffer.
   */
  detach(): void {
    this.#pinned = true;
  }

  /** Space to read into; call {@linkcode commit} with the count read. */
  readRegion(): Uint8Array {
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
   * Records `n` bytes read into the region; grows the buffer if reads fill it.
   *
   * @param n the number of bytes read into the region
   */
  commit(n: number): void {
    const region = this.buf.length - this.end;
    this.end += n;
    if (n === region && this.buf.length < this.#maxAdaptive && this.need <= this.buf.length) {
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
      const region = this.readRegion();
      const n = Math.min(region.length, chunk.length - off);
      region.set(chunk.subarray(off, off + n));
      this.commit(n);
      off += n;
    }
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
  }

  /** Resets capacity to the initial size when empty (idle connections). */
  compact(): void {
    if (this.start === this.end && this.buf.length > this.#baseSize) {
      this.buf = new Uint8Array(this.#baseSize);
      this.start = this.end = 0;
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
