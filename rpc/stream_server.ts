/**
 * The server side of streaming calls (docs/PROTOCOL.md §25): streaming
 * handlers by method, the streams they serve by caller and stream id, and
 * the loops that send a handler's items under the caller's credit.
 *
 * A plain call of a streaming method (no open header: a reference client,
 * `busrt rpc call`) gets an error reply -32600 at once.
 *
 * @module
 */
import { DEFAULT_WINDOW_BYTES } from "./credit.ts";
import { packParams, unpack } from "./msgpack.ts";
import { RpcError, RpcErrorCode } from "./rpc_error.ts";
import type { RpcCall } from "./rpc_event.ts";
import { answerUnknownStream, type LinkHost, type LinkKey, StreamLink } from "./stream_link.ts";
import {
  encodeOpenReply,
  parseOpen,
  readStreamId,
  STREAM_HEADER,
  StreamKind,
  StreamMode,
} from "./stream_wire.ts";

/** What a streaming handler gets besides its params or items. */
export interface StreamContext {
  /** The method called. */
  readonly method: string;
  /** Full name of the caller. */
  readonly sender: string;
  /** The caller's stream id. */
  readonly streamId: number;
  /** The params bytes of the call (after the open header). */
  readonly params: Uint8Array;
  /** Aborted when the caller cancels, fails, times out or goes away. */
  readonly signal: AbortSignal;
}

/** A value or an iterable of values, sync or async, a handler produces. */
export type StreamItems = AsyncIterable<unknown> | Iterable<unknown>;

/** Serves a server stream: params in, items out. */
export type StreamHandler = (params: unknown, ctx: StreamContext) => StreamItems;
/** Serves an upload: the caller's items in, one result out (a value, or a promise of it). */
export type UploadHandler = (items: AsyncIterable<unknown>, ctx: StreamContext) => unknown;
/** Serves a duplex stream: the caller's items in, items out. */
export type DuplexHandler = (items: AsyncIterable<unknown>, ctx: StreamContext) => StreamItems;

/** Options of a streaming handler. */
export interface StreamHandlerOptions {
  /**
   * Hand params and incoming items over as the bytes received instead of
   * decoding them as MessagePack. Default false.
   */
  raw?: boolean;
  /** Credit window of the caller's items (uploads and duplex streams), in items. Default 1,024. */
  window?: number;
  /** About the most bytes of the caller's items in flight or buffered. Default 1 MiB. */
  windowBytes?: number;
}

/** Default credit window, in items. */
export const DEFAULT_STREAM_WINDOW = 1024;
/** Default bound on the streams one client serves at once. */
export const DEFAULT_MAX_STREAMS = 4096;

type AnyHandler = StreamHandler | UploadHandler | DuplexHandler;

interface Entry {
  mode: StreamMode;
  handler: AnyHandler;
  raw: boolean;
  window: number;
  windowBytes: number;
}

const EMPTY = new Uint8Array(0);
/** Items of a sync iterator sent before the pump lets the event loop run. */
const SYNC_BATCH = 1024;
/** Items a fast async generator is asked for at once, at most (and never beyond the credit). */
const PREFETCH = 32;
const MODE_NAMES: Record<number, string> = {
  [StreamMode.Server]: "server stream",
  [StreamMode.Upload]: "upload",
  [StreamMode.Duplex]: "duplex stream",
};

/**
 * Streaming handlers and the streams being served. Used by `RpcClient`
 * (`handleStream`, `handleUpload`, `handleDuplex`); not used directly.
 */
export class StreamServer implements LinkHost {
  readonly #handlers = new Map<string, Entry>();
  readonly #links = new Map<string, Map<number, StreamLink>>();
  readonly #send: (target: string, payload: Uint8Array) => Promise<void> | undefined;
  readonly #maxStreams: number;
  #size = 0;

  /**
   * @param send sends a MESSAGE payload to a client
   * @param maxStreams streams served at once, beyond which opens get -32118 (busy)
   */
  constructor(send: (target: string, payload: Uint8Array) => Promise<void> | undefined, maxStreams: number) {
    this.#send = send;
    this.#maxStreams = maxStreams;
  }

  /** Streams being served. */
  get size(): number {
    return this.#size;
  }

  /**
   * Registers (or replaces) the handler of `method`.
   *
   * @param mode the shape of the calls it serves
   * @param method the method name
   * @param handler the handler
   * @param options raw bytes, credit window
   */
  register(mode: StreamMode, method: string, handler: AnyHandler, options: StreamHandlerOptions = {}): void {
    if (typeof handler !== "function") throw new TypeError(`Invalid handler of "${method}": not a function`);
    const window = options.window ?? DEFAULT_STREAM_WINDOW;
    if (!Number.isInteger(window) || window < 1 || window > 0xffffffff) {
      throw new RangeError(`Invalid window "${window}": must be an integer ≥ 1`);
    }
    const windowBytes = options.windowBytes ?? DEFAULT_WINDOW_BYTES;
    if (!Number.isInteger(windowBytes) || windowBytes < 1) {
      throw new RangeError(`Invalid windowBytes "${windowBytes}": must be an integer ≥ 1`);
    }
    this.#handlers.set(method, { mode, handler, raw: options.raw ?? false, window, windowBytes });
  }

  /**
   * Whether `method` has a streaming handler.
   *
   * @param method the method name (`null`: not UTF-8)
   * @returns true when a streaming handler serves it
   */
  serves(method: string | null): boolean {
    return method !== null && this.#handlers.has(method);
  }

  /**
   * Opens a stream for a call of a streaming method: returns the open reply
   * and starts the handler just after it is sent.
   *
   * @param call the call (its method has a streaming handler)
   * @returns the result of the open call
   * @throws {RpcError} -32600 for a plain call or a mismatched shape, -32118 when too many streams run,
   * -32700 for params that do not decode, or what the handler threw at once
   */
  open(call: RpcCall): Uint8Array | undefined {
    const method = call.method;
    const entry = this.#handlers.get(method)!;
    if (call.id === 0) return undefined; // call0: nobody would read the stream
    const header = parseOpen(call.params);
    if (header === null) {
      throw new RpcError(
        RpcErrorCode.InvalidRequest,
        `"${method}" is a streaming method (${
          MODE_NAMES[entry.mode]
        }): a plain call cannot open it, see the streaming extension of BUS/RT RPC`,
      );
    }
    if (header.mode !== entry.mode) {
      throw new RpcError(
        RpcErrorCode.InvalidRequest,
        `"${method}" is a ${MODE_NAMES[entry.mode]}, not a ${MODE_NAMES[header.mode]}`,
      );
    }
    // a caller never reuses the id of a stream it still has: one still open here is from
    // before the caller restarted under the same name, and goes
    this.#links.get(call.sender)?.get(header.stream)?.drop(
      new RpcError(RpcErrorCode.Other, `Stream ${header.stream} was opened again by "${call.sender}"`),
    );
    if (this.#size >= this.#maxStreams) {
      throw new RpcError(RpcErrorCode.Busy, `Too many streams (${this.#maxStreams})`);
    }
    let peers = this.#links.get(call.sender);
    const decode = entry.raw ? rawItem : unpack;
    const params = decode(header.params);
    const link = new StreamLink<unknown>(this, {
      id: header.stream,
      peer: call.sender,
      opener: false,
      sendCredit: entry.mode === StreamMode.Upload ? null : header.credit,
      receiveWindow: entry.mode === StreamMode.Server ? null : entry.window,
      receiveBytes: entry.windowBytes,
      idleMs: header.idleMs,
      decode,
    });
    const ctx: StreamContext = {
      method,
      sender: call.sender,
      streamId: header.stream,
      params: header.params,
      signal: link.controller.signal,
    };
    // a handler that throws at once fails the open call itself
    const output = entry.mode === StreamMode.Server
      ? (entry.handler as StreamHandler)(params, ctx)
      : (entry.handler as UploadHandler | DuplexHandler)(link.inbox!, ctx);
    if (peers === undefined) {
      peers = new Map();
      this.#links.set(call.sender, peers);
    }
    peers.set(header.stream, link);
    this.#size++;
    // the open reply is sent when this returns; items follow it
    if (entry.mode === StreamMode.Upload) {
      Promise.resolve(output).then(
        (result) => link.sendEnd(packParams(result)),
        (err) => link.sendError(err),
      ).catch((err) => link.sendError(err));
    } else {
      queueMicrotask(() => this.#pump(link, output as StreamItems));
    }
    return encodeOpenReply(link.initialCredit);
  }

  /**
   * Takes a stream frame from a caller (kind `20`).
   *
   * @param sender the caller's full name
   * @param payload the MESSAGE payload
   */
  receive(sender: string, payload: Uint8Array): void {
    if (payload.length < STREAM_HEADER) return;
    const id = readStreamId(payload);
    const link = this.#links.get(sender)?.get(id);
    if (link !== undefined) {
      link.receive(payload);
      return;
    }
    answerUnknownStream(this.#send, sender, StreamKind.ToCaller, payload);
  }

  /**
   * Ends every stream without telling the callers (the connection is gone).
   *
   * @param err what the handlers' signals abort with
   */
  dropAll(err: Error): void {
    for (const peers of [...this.#links.values()]) {
      for (const link of [...peers.values()]) link.drop(err);
    }
  }

  /** @internal {@linkcode LinkHost} */
  send(target: string, payload: Uint8Array): Promise<void> | undefined {
    return this.#send(target, payload);
  }

  /** @internal {@linkcode LinkHost} */
  forget(link: LinkKey): void {
    const peers = this.#links.get(link.peer);
    if (peers === undefined || peers.get(link.id) !== link) return;
    peers.delete(link.id);
    if (peers.size === 0) this.#links.delete(link.peer);
    this.#size--;
  }

  /** Sends the handler's items as credit allows, then the end (or the error). */
  async #pump(link: StreamLink, output: StreamItems): Promise<void> {
    let iterator: AsyncIterator<unknown> | Iterator<unknown>;
    try {
      iterator = Symbol.asyncIterator in output
        ? (output as AsyncIterable<unknown>)[Symbol.asyncIterator]()
        : (output as Iterable<unknown>)[Symbol.iterator]();
    } catch (err) {
      link.sendError(err);
      return;
    }
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      try {
        const r = iterator.return?.();
        if (r instanceof Promise) r.catch(() => {});
      } catch {
        // the handler's cleanup failed; the stream is over anyway
      }
    };
    // a cancelled stream stops the handler at once, even while it is busy producing
    link.controller.signal.addEventListener("abort", close, { once: true });
    try {
      const ended = Object.prototype.toString.call(iterator) === "[object AsyncGenerator]"
        ? await pumpGenerator(link, iterator as AsyncGenerator<unknown>)
        : await pumpIterator(link, iterator);
      if (ended) {
        closed = true;
        link.sendEnd(EMPTY);
      }
    } catch (err) {
      link.sendError(err);
    } finally {
      link.controller.signal.removeEventListener("abort", close);
      close();
    }
  }
}

/**
 * Sends an async generator's items. A generator that produces fast is asked
 * for several items at once (it queues the requests; never more than the
 * credit), and the items are sent together once all are there (one write),
 * or after one macrotask turn those that are there, then each as it comes. The
 * batch doubles while a batch takes under a millisecond and falls back to 1
 * otherwise, so a slow generator runs at most about a millisecond of work
 * ahead, which is what a cancel may have to wait for.
 *
 * @returns true when the generator ended, false when the stream did
 */
async function pumpGenerator(link: StreamLink, generator: AsyncGenerator<unknown>): Promise<boolean> {
  let batch = 1;
  for (;;) {
    const n = Math.min(Math.max(1, link.credit), batch);
    const started = performance.now();
    if (n === 1) {
      const r = await generator.next();
      batch = performance.now() - started < 1 ? 2 : 1;
      if (link.finished) return false;
      if (r.done) return true;
      const wait = link.sendItem(packParams(r.value));
      if (wait !== undefined) await wait;
      continue;
    }
    const results: (IteratorResult<unknown> | undefined)[] = new Array(n);
    const requests: Promise<IteratorResult<unknown>>[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const request = generator.next();
      requests[i] = request;
      request.then((r) => results[i] = r, () => {});
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled(requests),
      new Promise((resolve) => timer = setTimeout(resolve, 0)),
    ]);
    clearTimeout(timer);
    for (let i = 0; i < n; i++) {
      const r = results[i] ?? await requests[i];
      if (i === n - 1) batch = performance.now() - started < 1 ? Math.min(batch * 2, PREFETCH) : 1;
      if (link.finished) return false;
      if (r.done) return true;
      const wait = link.sendItem(packParams(r.value));
      if (wait !== undefined) await wait;
    }
  }
}

/**
 * Sends the items of any other iterator. A sync iterator is drained without a
 * microtask per item while credit lasts, with a macrotask turn now and then
 * so that frames (a cancel) are read.
 *
 * @returns true when the iterator ended, false when the stream did
 */
async function pumpIterator(
  link: StreamLink,
  iterator: AsyncIterator<unknown> | Iterator<unknown>,
): Promise<boolean> {
  let unyielded = 0;
  for (;;) {
    const next = iterator.next();
    let r: IteratorResult<unknown>;
    if (next instanceof Promise) r = await next;
    else {
      r = next;
      if (++unyielded === SYNC_BATCH) {
        unyielded = 0;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
    }
    if (link.finished) return false;
    if (r.done) return true;
    const wait = link.sendItem(packParams(r.value));
    if (wait !== undefined) await wait;
  }
}

function rawItem(bytes: Uint8Array): Uint8Array {
  return bytes;
}
