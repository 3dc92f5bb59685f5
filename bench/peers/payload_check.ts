/**
 * Verification of delivered payloads, cheap enough for millions of messages
 * a second: every message carries its sender's sequence number and index, the
 * rest of the payload is a fixed pattern. A receiver checks the length, the
 * sequence (every message of every sender, in order, once) and a sample of
 * the pattern (two bytes of each message, all of every 256th).
 *
 * @module
 */

/** Bytes at the start of a payload: u32 LE sequence number, u8 sender index. */
export const STAMP_BYTES = 5;

/** Smallest payload that can carry a stamp. */
export const MIN_STAMPED_SIZE: number = STAMP_BYTES + 1;

/** Every 256th message of a sender is compared in full. */
const FULL_CHECK_MASK = 255;

/** The pattern byte at offset `i` of every payload (after the stamp). */
function patternByte(i: number): number {
  return (i * 131 + 17) & 0xff;
}

/**
 * Payloads of one sender: `slots` buffers reused in turn, each stamped just
 * before it is sent. A slot is reused only after `slots` later messages were
 * sent, so `slots` must be at least the messages a sender may have in flight
 * (the flow-control window): a client may hold the buffer until it is written.
 *
 * @example
 * ```ts
 * import { PayloadRing } from "./payload_check.ts";
 * const ring = new PayloadRing(3, 100, 4);
 * const p = ring.next();
 * console.assert(p.length === 100 && p[0] === 0 && p[4] === 3);
 * console.assert(ring.next()[0] === 1);
 * ```
 */
export class PayloadRing {
  readonly #slots: Uint8Array[] = [];
  readonly #sender: number;
  #seq = 0;

  /** Buffers of `size` bytes for sender number `sender` (0–255). */
  constructor(sender: number, size: number, slots: number) {
    if (size < MIN_STAMPED_SIZE) {
      throw new RangeError(`Invalid payload size "${size}": must be at least ${MIN_STAMPED_SIZE} bytes`);
    }
    if (!Number.isInteger(sender) || sender < 0 || sender > 255) {
      throw new RangeError(`Invalid sender "${sender}": must be 0–255`);
    }
    this.#sender = sender;
    const memory = new Uint8Array(size * slots);
    for (let s = 0; s < slots; s++) {
      const view = memory.subarray(s * size, (s + 1) * size);
      for (let i = STAMP_BYTES; i < size; i++) view[i] = patternByte(i);
      this.#slots.push(view);
    }
  }

  /** The next payload, stamped with the next sequence number. */
  next(): Uint8Array {
    const seq = this.#seq++;
    const view = this.#slots[seq % this.#slots.length];
    view[0] = seq;
    view[1] = seq >>> 8;
    view[2] = seq >>> 16;
    view[3] = seq >>> 24;
    view[4] = this.#sender;
    return view;
  }
}

/**
 * The receiving side: checks every payload of `senders` rings at `receivers`
 * receivers. The first problem is kept in `error` (checking goes on being
 * cheap); `verified` counts the messages that passed.
 *
 * @example
 * ```ts
 * import { DeliveryCheck, PayloadRing } from "./payload_check.ts";
 * const ring = new PayloadRing(0, 64, 2);
 * const check = new DeliveryCheck(1, 1, 64);
 * check.check(0, ring.next().slice());
 * console.assert(check.error === null && check.verified === 1);
 * ring.next();
 * check.check(0, ring.next().slice()); // message 1 never arrived
 * console.assert(check.error !== null);
 * ```
 */
export class DeliveryCheck {
  /** The first problem seen, or null. */
  error: string | null = null;
  /** Messages that passed. */
  verified = 0;
  readonly #expected: Uint32Array;
  readonly #senders: number;
  readonly #size: number;

  /** Expects `size`-byte payloads from `senders` rings at each of `receivers` receivers. */
  constructor(receivers: number, senders: number, size: number) {
    this.#expected = new Uint32Array(receivers * senders);
    this.#senders = senders;
    this.#size = size;
  }

  /** Checks one payload received by receiver number `receiver`. */
  check(receiver: number, payload: Uint8Array): void {
    if (this.error !== null) return;
    const size = this.#size;
    if (payload.length !== size) {
      this.error = `receiver ${receiver} got ${payload.length} bytes instead of ${size}`;
      return;
    }
    const seq = (payload[0] | (payload[1] << 8) | (payload[2] << 16) | (payload[3] << 24)) >>> 0;
    const sender = payload[4];
    if (sender >= this.#senders) {
      this.error = `receiver ${receiver} got a message stamped with sender ${sender} of ${this.#senders}`;
      return;
    }
    const k = receiver * this.#senders + sender;
    if (seq !== this.#expected[k]) {
      this.error = `receiver ${receiver} got message #${seq} of sender ${sender} where #${
        this.#expected[k]
      } was due (lost, repeated or reordered)`;
      return;
    }
    this.#expected[k] = seq + 1;
    const spot = STAMP_BYTES + seq % (size - STAMP_BYTES);
    let ok = payload[size - 1] === patternByte(size - 1) && payload[spot] === patternByte(spot);
    if (ok && (seq & FULL_CHECK_MASK) === 0) {
      for (let i = STAMP_BYTES; i < size; i++) {
        if (payload[i] !== patternByte(i)) {
          ok = false;
          break;
        }
      }
    }
    if (!ok) {
      this.error = `receiver ${receiver} got message #${seq} of sender ${sender} with corrupted content`;
      return;
    }
    this.verified++;
  }

  /** Messages receiver `receiver` has had from sender `sender`. */
  receivedFrom(receiver: number, sender: number): number {
    return this.#expected[receiver * this.#senders + sender];
  }
}

/**
 * Whether `reply` has the same bytes as `request` (request/reply echoes).
 *
 * @example
 * ```ts
 * import { sameBytes } from "./payload_check.ts";
 * console.assert(sameBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
 * console.assert(!sameBytes(new Uint8Array([1, 2]), new Uint8Array([1])));
 * ```
 */
export function sameBytes(request: Uint8Array, reply: Uint8Array): boolean {
  if (request.length !== reply.length) return false;
  for (let i = 0; i < request.length; i++) if (request[i] !== reply[i]) return false;
  return true;
}

/**
 * A fresh request payload of `size` bytes carrying `id` (u32 LE) and the
 * pattern, so that an echo of another request or of damaged bytes is told apart.
 *
 * @example
 * ```ts
 * import { requestPayload } from "./payload_check.ts";
 * const p = requestPayload(7, 100);
 * console.assert(p.length === 100 && p[0] === 7);
 * ```
 */
export function requestPayload(id: number, size: number): Uint8Array {
  const payload = new Uint8Array(size);
  for (let i = 4; i < size; i++) payload[i] = patternByte(i);
  payload[0] = id;
  payload[1] = id >>> 8;
  payload[2] = id >>> 16;
  payload[3] = id >>> 24;
  return payload;
}
