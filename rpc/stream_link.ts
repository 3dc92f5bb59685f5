/**
 * One open stream as either end sees it (docs/PROTOCOL.md §25): the peer,
 * the credit gate of the items this end sends, the inbox of the items it
 * receives, and the rules of how a stream ends.
 *
 * - The server's end marker (or an error or cancel from either side) ends
 *   the stream for both; the caller's end marker only ends the caller's
 *   items.
 * - A failed send (the peer is gone: ACK 0x71) ends the stream at once.
 * - A sender that waits for credit longer than the idle limit probes the
 *   peer with a credit of 0, so a vanished peer is noticed even when no
 *   item moves.
 *
 * @module
 */
import { CreditGate, CreditWindow } from "./credit.ts";
import { ItemInbox } from "./stream_inbox.ts";
import { RpcError, RpcErrorCode, toRpcError } from "./rpc_error.ts";
import {
  encodeCredit,
  encodeStreamError,
  encodeStreamFrame,
  readI16,
  readU32,
  STREAM_HEADER,
  StreamKind,
  StreamMarker,
} from "./stream_wire.ts";

/** What a link needs from the RPC client under it. */
export interface LinkHost {
  /**
   * Sends a stream frame payload to `target`.
   *
   * @returns `undefined`, or a promise that rejects when the frame was not delivered
   */
  send(target: string, payload: Uint8Array): Promise<void> | undefined;
  /** Forgets a link that has finished. */
  forget(link: LinkKey): void;
}

/** What identifies a link: its stream id and its peer. */
export interface LinkKey {
  /** Stream id. */
  readonly id: number;
  /** Full name of the other end. */
  readonly peer: string;
}

/** How a link is set up. */
export interface LinkSetup<T> {
  /** Stream id (the opener's). */
  id: number;
  /** Where frames go. */
  peer: string;
  /** Whether this end opened the stream. */
  opener: boolean;
  /** Credit this end starts with for its items; `null`: this end sends no items. */
  sendCredit: number | null;
  /** Credit window, in items, of incoming items; `null`: no incoming items. */
  receiveWindow: number | null;
  /** About the most bytes of incoming items in flight or buffered. Default 1 MiB. */
  receiveBytes?: number;
  /** Inactivity limit in milliseconds (0: none). */
  idleMs: number;
  /** Turns incoming item bytes into values. */
  decode: (bytes: Uint8Array) => T;
}

const EMPTY = new Uint8Array(0);
/** How often a sender probes while it waits for credit without an idle limit. */
const DEFAULT_PROBE_MS = 30_000;

/**
 * One stream, as one end sees it.
 *
 * @example Two ends wired to each other directly
 * ```ts
 * import assert from "node:assert/strict";
 * import { type LinkHost, StreamLink } from "./stream_link.ts";
 * const links: Record<string, StreamLink<number>> = {};
 * const host = (self: string): LinkHost => ({
 *   send: (to, payload) => void queueMicrotask(() => links[to].receive(payload)),
 *   forget: () => {},
 * });
 * const setup = { id: 1, idleMs: 0, decode: (b: Uint8Array) => b[0] };
 * links.caller = new StreamLink(host("caller"), { ...setup, peer: "server", opener: true, sendCredit: null, receiveWindow: 2 });
 * links.server = new StreamLink(host("server"), { ...setup, peer: "caller", opener: false, sendCredit: 2, receiveWindow: null });
 * (async () => {
 *   for (let i = 1; i <= 5; i++) await links.server.sendItem(new Uint8Array([i]));
 *   links.server.sendEnd(new Uint8Array(0));
 * })();
 * const got: number[] = [];
 * for await (const n of links.caller.inbox!) got.push(n);
 * assert.deepEqual(got, [1, 2, 3, 4, 5]);
 * assert.ok(links.caller.finished && links.server.finished);
 * ```
 */
export class StreamLink<T = unknown> {
  /** Stream id. */
  readonly id: number;
  /** Full name of the other end. */
  peer: string;
  /** Whether this end opened the stream. */
  readonly opener: boolean;
  /** Items this end receives, or `null`. */
  readonly inbox: ItemInbox<T> | null;
  /** Aborted when the stream fails or is cancelled (not when it ends normally). */
  readonly controller: AbortController = new AbortController();
  readonly #host: LinkHost;
  readonly #gate: CreditGate | null;
  readonly #out: StreamKind;
  readonly #initialCredit: number;
  #finished = false;
  #endSent = false;
  #failure: Error | null = null;
  readonly #ended = Promise.withResolvers<void>();

  /**
   * @param host how frames leave and finished links are forgotten
   * @param setup the stream's parameters
   */
  constructor(host: LinkHost, setup: LinkSetup<T>) {
    this.#host = host;
    this.id = setup.id;
    this.peer = setup.peer;
    this.opener = setup.opener;
    this.#out = setup.opener ? StreamKind.ToServer : StreamKind.ToCaller;
    const probeMs = setup.idleMs > 0 ? setup.idleMs : DEFAULT_PROBE_MS;
    this.#gate = setup.sendCredit === null ? null : new CreditGate(setup.sendCredit, probeMs, this.#probe);
    if (setup.receiveWindow === null) {
      this.inbox = null;
      this.#initialCredit = 0;
    } else {
      const window = new CreditWindow(setup.receiveWindow, setup.receiveBytes);
      this.#initialCredit = window.initial;
      this.inbox = new ItemInbox<T>(window, setup.idleMs, setup.decode, {
        grant: (items) => this.#sendFrame(encodeCredit(this.#out, this.id, items)),
        abandon: (reason) => this.#abandoned(reason),
      });
    }
    this.#ended.promise.catch(() => {});
  }

  /** The credit this end grants to the peer's items at the open (0: it receives none). */
  get initialCredit(): number {
    return this.#initialCredit;
  }

  /** Credit left for this end's items. */
  get credit(): number {
    return this.#gate?.available ?? 0;
  }

  /** Whether the stream is over for this end. */
  get finished(): boolean {
    return this.#finished;
  }

  /** Why the stream failed, or `null`. */
  get failure(): Error | null {
    return this.#failure;
  }

  /** Resolves when the stream is over, rejects with its failure. */
  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  /**
   * Grants credit to this end's items (the open reply's credit).
   *
   * @param items how many
   */
  grant(items: number): void {
    this.#gate?.grant(items);
  }

  /**
   * Sends one item once credit allows.
   *
   * @param bytes the item
   * @returns `undefined` when sent at once, or a promise that resolves once sent
   * @throws {RpcError} when the stream is over
   */
  sendItem(bytes: Uint8Array): Promise<void> | undefined {
    if (this.#gate === null) throw new TypeError("This end of the stream sends no items");
    if (this.#finished || this.#endSent) {
      throw this.#failure ?? new RpcError(RpcErrorCode.Eof, "The stream is over");
    }
    const wait = this.#gate.take();
    if (wait === undefined) {
      this.#sendFrame(encodeStreamFrame(this.#out, StreamMarker.Item, this.id, bytes));
      return undefined;
    }
    return wait.then(() => {
      if (this.#finished) throw this.#failure ?? new RpcError(RpcErrorCode.Eof, "The stream is over");
      this.#sendFrame(encodeStreamFrame(this.#out, StreamMarker.Item, this.id, bytes));
    });
  }

  /**
   * Sends the end marker. From the server side it ends the stream.
   *
   * @param body empty, or an upload's result
   */
  sendEnd(body: Uint8Array): void {
    if (this.#finished || this.#endSent) return;
    this.#endSent = true;
    this.#sendFrame(encodeStreamFrame(this.#out, StreamMarker.End, this.id, body));
    if (!this.opener) this.#finish(null);
  }

  /**
   * Fails the stream and tells the peer with an error marker.
   *
   * @param err the failure; its RPC code and data go to the peer
   */
  sendError(err: unknown): void {
    if (this.#finished) return;
    const e = err instanceof RpcError ? err : new RpcError(RpcErrorCode.Internal, errorText(err));
    this.#sendFrame(encodeStreamError(this.#out, this.id, e.code, e.data));
    this.#finish(e);
  }

  /**
   * Abandons the stream and tells the peer with a cancel marker.
   *
   * @param reason what this end's waits fail with (`null`: they end quietly)
   */
  cancel(reason: Error | null): void {
    if (this.#finished) return;
    this.#sendFrame(encodeStreamFrame(this.#out, StreamMarker.Cancel, this.id, EMPTY));
    if (reason === null) this.inbox?.close();
    this.#finish(reason);
  }

  /**
   * Ends the stream locally without telling the peer (the connection is gone).
   *
   * @param err the failure
   */
  drop(err: Error): void {
    this.#finish(err);
  }

  /**
   * Takes a stream frame from the peer.
   *
   * @param payload the MESSAGE payload (kind, marker, id, body)
   */
  receive(payload: Uint8Array): void {
    if (this.#finished) return;
    const marker = payload[1];
    switch (marker) {
      case StreamMarker.Item:
        if (this.inbox === null || !this.inbox.push(payload.subarray(STREAM_HEADER))) {
          this.sendError(new RpcError(RpcErrorCode.InvalidRequest, "Stream item beyond the credit granted"));
        }
        return;
      case StreamMarker.Credit:
        if (payload.length >= STREAM_HEADER + 4) this.#gate?.grant(readU32(payload, STREAM_HEADER));
        return;
      case StreamMarker.End:
        this.inbox?.end(payload.subarray(STREAM_HEADER));
        if (this.opener) this.#finish(null);
        return;
      case StreamMarker.Error: {
        const code = payload.length >= STREAM_HEADER + 2
          ? readI16(payload, STREAM_HEADER)
          : RpcErrorCode.Internal;
        this.#finish(new RpcError(code, payload.subarray(STREAM_HEADER + 2), { remote: true }));
        return;
      }
      case StreamMarker.Cancel:
        this.#finish(
          new RpcError(RpcErrorCode.Other, `The stream was cancelled by "${this.peer}"`, { remote: true }),
        );
        return;
    }
  }

  #abandoned(reason: RpcError | null): void {
    // the caller leaving its items cancels the call; a handler leaving its input only stops reading
    if (this.opener) this.cancel(reason);
  }

  #finish(err: Error | null): void {
    if (this.#finished) return;
    this.#finished = true;
    if (err !== null) {
      this.#failure = err;
      this.inbox?.fail(err);
      this.controller.abort(err);
      this.#ended.reject(err);
    } else {
      this.inbox?.end(EMPTY);
      this.#ended.resolve();
    }
    this.#gate?.fail(err ?? new RpcError(RpcErrorCode.Eof, "The stream is over"));
    this.#host.forget(this);
  }

  #sendFrame(payload: Uint8Array): void {
    let acked: Promise<void> | undefined;
    try {
      acked = this.#host.send(this.peer, payload);
    } catch (err) {
      this.#finish(toRpcError(err));
      return;
    }
    if (acked !== undefined) acked.then(undefined, this.#sendFailed);
  }

  readonly #sendFailed = (err: unknown): void => this.#finish(toRpcError(err));

  readonly #probe = (): void => this.#sendFrame(encodeCredit(this.#out, this.id, 0));
}

/**
 * Answers a frame of a stream the receiver does not know: an item or a
 * credit gets one cancel back (so a producer that missed the end stops),
 * anything else nothing. Never throws.
 *
 * @param send sends a MESSAGE payload
 * @param sender who sent the frame
 * @param kind the kind of the answer (the frame's kind turned round)
 * @param payload the frame's payload (at least the stream header)
 */
export function answerUnknownStream(
  send: (target: string, payload: Uint8Array) => Promise<void> | undefined,
  sender: string,
  kind: StreamKind,
  payload: Uint8Array,
): void {
  const marker = payload[1];
  if (marker !== StreamMarker.Item && marker !== StreamMarker.Credit) return;
  try {
    send(sender, encodeStreamFrame(kind, StreamMarker.Cancel, readU32(payload, 2), EMPTY))?.catch(() => {});
  } catch {
    // closing: nobody to answer
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
