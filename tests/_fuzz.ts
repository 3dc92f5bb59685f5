/**
 * Reliability harness shared by `fuzz_reliability_test.ts` and
 * `bench/soak.ts`: random and mutated frames from raw connections that come
 * and go, and a control pair of real clients whose every message carries a
 * sequence number and a checksum, verified on arrival.
 *
 * @module
 */
import { connect, type IpcClient } from "../client/ipc_client.ts";
import { Op, QoS } from "../protocol/constants.ts";

const encoder = new TextEncoder();

// ---------------------------------------------------------------- frames

/** Random frames, valid or damaged, from a seeded generator. */
export class FrameFuzzer {
  readonly #rnd: () => number;

  /**
   * @param rnd a random source in [0, 1)
   */
  constructor(rnd: () => number) {
    this.#rnd = rnd;
  }

  #int(n: number): number {
    return Math.floor(this.#rnd() * n);
  }

  #pick<T>(list: readonly T[]): T {
    return list[this.#int(list.length)];
  }

  #bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.#int(256);
    return out;
  }

  /** A well-formed client → broker frame of a random operation. */
  valid(): Uint8Array {
    const qos = this.#int(4);
    const name = () => this.#pick(["fz.1", "fz.2", "fz.x%%1", "nobody", "ctl.rx", ".broker", "fz.3"]);
    const mask = () => this.#pick(["fz.*", "*.x", "?", "fz.?", "nobody.*"]);
    const topic = () => this.#pick(["fz/a", "fz/a/b", "fz/#", "fz/+/b", "", "x/y/z", "#"]);
    const payload = () => this.#bytes(this.#int(4) === 0 ? this.#int(4096) : this.#int(64));
    switch (this.#int(8)) {
      case 0:
        return new Uint8Array(9); // ping
      case 1:
        return frame(Op.Message, qos, [encoder.encode(name())], payload());
      case 2:
        return frame(Op.Broadcast, qos, [encoder.encode(mask())], payload());
      case 3:
        return frame(Op.Publish, qos, [encoder.encode(topic())], payload());
      case 4:
        return frame(Op.PublishFor, qos, [encoder.encode(topic()), encoder.encode(name())], payload());
      default: {
        const op = this.#pick([Op.Subscribe, Op.Unsubscribe, Op.Exclude, Op.Unexclude]);
        const topics = Array.from({ length: 1 + this.#int(3) }, () => encoder.encode(topic()));
        return topicsFrame(op, qos, topics);
      }
    }
  }

  /** A frame that is damaged: flipped bytes, a lying length, bad UTF-8, an unknown op, or noise. */
  damaged(): Uint8Array {
    switch (this.#int(6)) {
      case 0: {
        const f = this.valid();
        for (let n = 1 + this.#int(3); n > 0; n--) f[this.#int(f.length)] ^= 1 + this.#int(255);
        return f;
      }
      case 1: {
        const f = this.valid();
        if (f.length >= 9) {
          new DataView(f.buffer).setUint32(5, this.#int(2) ? 0xffffffff : this.#int(1 << 20), true);
        }
        return f;
      }
      case 2:
        return frame(Op.Publish, 1, [new Uint8Array([0xc3, 0x28])], new Uint8Array(3));
      case 3:
        return frame(0x3f & (0x07 + this.#int(8)), this.#int(4), [encoder.encode("x")], new Uint8Array(1));
      case 4:
        return frame(Op.Message, 0, [], encoder.encode("no separator"));
      default:
        return this.#bytes(1 + this.#int(64));
    }
  }
}

function frame(op: number, qos: number, fields: Uint8Array[], payload: Uint8Array): Uint8Array {
  let len = payload.length;
  for (const f of fields) len += f.length + 1;
  const out = new Uint8Array(9 + len);
  const view = new DataView(out.buffer);
  view.setUint32(0, 1, true);
  out[4] = op | (qos << 6);
  view.setUint32(5, len, true);
  let p = 9;
  for (const f of fields) {
    out.set(f, p);
    p += f.length + 1;
  }
  out.set(payload, p);
  return out;
}

function topicsFrame(op: number, qos: number, topics: Uint8Array[]): Uint8Array {
  let len = topics.length - 1;
  for (const t of topics) len += t.length;
  const out = new Uint8Array(9 + len);
  const view = new DataView(out.buffer);
  view.setUint32(0, 2, true);
  out[4] = op | (qos << 6);
  view.setUint32(5, len, true);
  let p = 9;
  topics.forEach((t, i) => {
    if (i > 0) p++;
    out.set(t, p);
    p += t.length;
  });
  return out;
}

/**
 * One fuzzing connection: registers `name` by hand, writes `frames` frames
 * (valid ones, with a damaged one at a random place or none), then closes
 * abruptly. Never reads after the handshake. Resolves with the number of
 * frames written; a refused or broken connection is not an error.
 *
 * @param address a unix socket path or `host:port`
 * @param name the name to register
 * @param fuzzer the frame source
 * @param frames how many frames to write
 * @param damage whether one of them is damaged
 * @returns the frames written
 */
export async function fuzzConnection(
  address: string,
  name: string,
  fuzzer: FrameFuzzer,
  frames: number,
  damage: boolean,
): Promise<number> {
  const conn = address.startsWith("/")
    ? await Deno.connect({ transport: "unix", path: address })
    : await Deno.connect({
      hostname: "127.0.0.1",
      port: Number(address.slice(address.lastIndexOf(":") + 1)),
    });
  let written = 0;
  try {
    const hello = new Uint8Array(3);
    if (!await readFull(conn, hello)) return 0;
    await conn.write(hello);
    const one = new Uint8Array(1);
    if (!await readFull(conn, one) || one[0] !== 1) return 0;
    const n = encoder.encode(name);
    await conn.write(new Uint8Array([n.length & 0xff, n.length >> 8, ...n]));
    if (!await readFull(conn, one) || one[0] !== 1) return 0;
    const badAt = damage ? Math.floor(Math.random() * frames) : -1;
    const parts: Uint8Array[] = [];
    let size = 0;
    for (let i = 0; i < frames; i++) {
      const f = i === badAt ? fuzzer.damaged() : fuzzer.valid();
      parts.push(f);
      size += f.length;
    }
    const all = new Uint8Array(size);
    let p = 0;
    for (const f of parts) {
      all.set(f, p);
      p += f.length;
    }
    for (let off = 0; off < all.length;) off += await conn.write(all.subarray(off));
    written = frames;
  } catch {
    // the broker closed the connection: that is what damaged frames are for
  } finally {
    try {
      conn.close();
    } catch {
      // closed already
    }
  }
  return written;
}

async function readFull(conn: Deno.Conn, buf: Uint8Array): Promise<boolean> {
  for (let off = 0; off < buf.length;) {
    const n = await conn.read(buf.subarray(off));
    if (n === null) return false;
    off += n;
  }
  return true;
}

// ---------------------------------------------------------------- control pair

/** What the control pair saw. */
export interface ControlReport {
  /** Messages and publications sent. */
  sent: number;
  /** Received in sequence with a valid checksum. */
  received: number;
  /** Missing sequence numbers. */
  lost: number;
  /** Checksum mismatches or malformed control payloads. */
  corrupted: number;
  /** Received twice or out of order. */
  reordered: number;
}

function fnv1a(bytes: Uint8Array, from: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  return h;
}

/**
 * Two real clients: `ctl.tx` sends to `ctl.rx` alternately a message and a
 * publication on `ctl/seq`, each `seq(4) fnv1a(4) random body`; `ctl.rx`
 * checks every one. Both read everything addressed to them (the fuzzers'
 * broadcasts included).
 */
export class ControlPair {
  #tx: IpcClient;
  #rx: IpcClient;
  #sent = 0;
  #expected = 0;
  #received = 0;
  #corrupted = 0;
  #reordered = 0;
  #drains: Promise<void>[] = [];
  #seenAll: (() => void) | null = null;

  private constructor(tx: IpcClient, rx: IpcClient) {
    this.#tx = tx;
    this.#rx = rx;
  }

  /**
   * Connects the pair.
   *
   * @param txAddress where `ctl.tx` connects
   * @param rxAddress where `ctl.rx` connects
   * @returns the pair, subscribed
   */
  static async open(txAddress: string, rxAddress: string): Promise<ControlPair> {
    const rx = await connect(rxAddress, { name: "ctl.rx", timeout: 30, pingInterval: 0.5 });
    await rx.subscribe("ctl/seq", QoS.Processed);
    const tx = await connect(txAddress, { name: "ctl.tx", timeout: 30, pingInterval: 0.5 });
    const pair = new ControlPair(tx, rx);
    pair.#drains.push(pair.#drainTx(), pair.#check());
    return pair;
  }

  async #drainTx(): Promise<void> {
    for await (const _ of this.#tx) {
      // fuzz broadcasts: read and dropped
    }
  }

  async #check(): Promise<void> {
    for await (const f of this.#rx) {
      if (f.sender !== "ctl.tx") continue;
      const p = f.payload;
      if (p.length < 8) {
        this.#corrupted++;
        continue;
      }
      const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
      const seq = view.getUint32(0, true);
      if (view.getUint32(4, true) !== fnv1a(p, 8)) this.#corrupted++;
      else if (seq !== this.#expected) this.#reordered++;
      else this.#received++;
      this.#expected = seq + 1;
      if (this.#received + this.#corrupted + this.#reordered >= this.#sent) this.#seenAll?.();
    }
  }

  /**
   * Sends `n` more control frames, waiting for an ACK every 64.
   *
   * @param n how many
   */
  async send(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const seq = this.#sent++;
      const body = new Uint8Array(8 + 16 + (seq * 7919) % 240);
      const view = new DataView(body.buffer);
      view.setUint32(0, seq, true);
      for (let j = 8; j < body.length; j++) body[j] = (seq * 31 + j * 17) & 0xff;
      view.setUint32(4, fnv1a(body, 8), true);
      const qos = i % 64 === 63 ? QoS.Processed : QoS.No;
      const r = seq % 2 === 0 ? this.#tx.send("ctl.rx", body, qos) : this.#tx.publish("ctl/seq", body, qos);
      if (r !== undefined) await r;
    }
  }

  /**
   * Waits until everything sent arrived (or `ms` passed), then reports.
   *
   * @param ms the longest wait
   * @returns the counts
   */
  async finish(ms: number): Promise<ControlReport> {
    if (this.#received + this.#corrupted + this.#reordered < this.#sent) {
      const done = new Promise<void>((resolve) => this.#seenAll = resolve);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([done, new Promise((resolve) => timer = setTimeout(resolve, ms))]);
      clearTimeout(timer);
    }
    return {
      sent: this.#sent,
      received: this.#received,
      lost: this.#sent - this.#received - this.#corrupted - this.#reordered,
      corrupted: this.#corrupted,
      reordered: this.#reordered,
    };
  }

  /** Whether both clients are still connected. */
  connected(): boolean {
    return this.#tx.isConnected() && this.#rx.isConnected();
  }

  /** Closes both clients. */
  async close(): Promise<void> {
    await Promise.all([this.#tx.close(), this.#rx.close()]);
    await Promise.all(this.#drains);
  }
}
