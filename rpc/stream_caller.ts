/**
 * The calling side of streaming calls (docs/PROTOCOL.md §25): opens streams
 * with an ordinary call carrying the open header, routes the server's stream
 * frames to them by stream id, and gives the user async iterables.
 *
 * @module
 */
import { packParams, unpack } from "./msgpack.ts";
import { RpcError, RpcErrorCode, toRpcError } from "./rpc_error.ts";
import { RpcReply } from "./rpc_event.ts";
import { answerUnknownStream, type LinkHost, type LinkKey, StreamLink } from "./stream_link.ts";
import { DEFAULT_STREAM_WINDOW } from "./stream_server.ts";
import {
  encodeOpen,
  MAX_STREAM_ID,
  parseOpenReply,
  readStreamId,
  STREAM_HEADER,
  StreamKind,
  StreamMode,
} from "./stream_wire.ts";

/** Options of a streaming call. */
export interface StreamCallOptions {
  /**
   * Seconds the open call may take, and the inactivity limit: how long a
   * wait for the next item (or an upload's result) may last. Each item
   * starts the wait anew. 0 or Infinity: no limit. Default: the client's
   * call timeout.
   */
  timeout?: number;
  /**
   * Credit granted to the server's items, in items: at most this many are in
   * flight or buffered (and at most `windowBytes` of them). A small window
   * makes the producer wait for a credit round trip every half window, so
   * small items stream faster with a large one. Default 1,024.
   */
  window?: number;
  /**
   * About the most bytes of the server's items in flight or buffered: the
   * credit shrinks below `window` items for large items. The first grant is
   * 4 items, before any size is known. Keep it well below the consumer's
   * broker queue (`queueBytes`). Default 1 MiB.
   */
  windowBytes?: number;
  /** Aborts the stream: the server is told to stop, waits reject with the signal's reason. */
  signal?: AbortSignal;
  /** Yield items as the bytes received instead of decoding them as MessagePack. Default false. */
  raw?: boolean;
}

/** Options of an upload. */
export interface UploadOptions extends Omit<StreamCallOptions, "window" | "windowBytes" | "raw"> {
  /** The params of the call: bytes as they are, `undefined` for none, else MessagePack. */
  params?: unknown;
}

/** What the caller needs from the RPC client under it. */
export interface CallerHost {
  /** Sends a MESSAGE payload to a client. */
  send(target: string, payload: Uint8Array): Promise<void> | undefined;
  /** Makes an ordinary call (the open call). */
  call(
    target: string,
    method: string,
    params: Uint8Array,
    options: { timeout?: number; signal?: AbortSignal },
  ): Promise<RpcReply>;
  /** The client's call timeout in seconds (0: none). */
  readonly timeout: number;
}

const EMPTY = new Uint8Array(0);

/**
 * The items of a server stream (or of the server side of a duplex stream),
 * read with `for await`. Leaving the loop early cancels the stream.
 */
export class StreamReader<T> implements AsyncIterableIterator<T> {
  readonly #link: StreamLink<T>;

  /**
   * @internal Created by the RPC client.
   *
   * @param link the stream
   */
  constructor(link: StreamLink<T>) {
    this.#link = link;
  }

  /** The caller's stream id. */
  get streamId(): number {
    return this.#link.id;
  }

  /** Whether the stream is over (items already received may still be read). */
  get finished(): boolean {
    return this.#link.finished;
  }

  /**
   * Waits for the next item.
   *
   * @returns the next item, or done after the server's end
   * @throws {RpcError} (as a rejection) with the server's code, -32120 after the inactivity limit, or a transport code
   */
  next(): Promise<IteratorResult<T>> {
    return this.#link.inbox!.next();
  }

  /** Stops reading: the server is told to stop. */
  return(): Promise<IteratorResult<T>> {
    return this.#link.inbox!.return();
  }

  /**
   * Cancels the stream: the server is told to stop; waits reject with `reason`.
   *
   * @param reason the rejection of waits (default: they end quietly)
   */
  cancel(reason?: Error): void {
    this.#link.cancel(reason ?? null);
  }

  /**
   * The reader itself: read it once, with `for await`.
   *
   * @returns this reader
   */
  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * A bidirectional stream: {@linkcode DuplexStream.send} items (each waits for
 * credit), {@linkcode DuplexStream.end} them, and read the server's items
 * with `for await`. The server's end ends the whole stream.
 */
export class DuplexStream<T> extends StreamReader<T> {
  readonly #link: StreamLink<T>;
  #tail: Promise<void>;
  #ended = false;

  /**
   * @internal Created by the RPC client.
   *
   * @param link the stream
   * @param ready resolves once the server accepted the stream
   */
  constructor(link: StreamLink<T>, ready: Promise<void>) {
    super(link);
    this.#link = link;
    this.#tail = ready;
  }

  /**
   * Sends one item once the stream is open and credit allows; items keep
   * the order of the calls.
   *
   * @param item bytes as they are, `undefined` as empty, anything else as MessagePack
   * @returns resolves once the item was handed to the connection
   * @throws {RpcError} (as a rejection) when the stream is over or failed
   */
  send(item: unknown): Promise<void> {
    if (this.#ended) return Promise.reject(new TypeError("Cannot send after end()"));
    let bytes: Uint8Array;
    try {
      bytes = packParams(item);
    } catch (err) {
      return Promise.reject(err);
    }
    const sent = this.#tail.then(() => this.#link.sendItem(bytes));
    this.#tail = sent.catch(() => {});
    return sent;
  }

  /**
   * Ends the items of this side (after those already sent); the server's
   * items keep coming until the server ends.
   *
   * @returns resolves once the end marker was handed to the connection
   */
  end(): Promise<void> {
    if (this.#ended) return this.#tail;
    this.#ended = true;
    const done = this.#tail.then(() => this.#link.sendEnd(EMPTY));
    this.#tail = done.catch(() => {});
    return done;
  }
}

/**
 * The streams this client opened, by stream id. Used by `RpcClient`
 * (`callStream`, `callUpload`, `callDuplex`); not used directly.
 */
export class StreamCaller implements LinkHost {
  readonly #host: CallerHost;
  readonly #links = new Map<number, StreamLink<unknown>>();
  #lastId = 0;

  /**
   * @param host the RPC client's sending and calling
   */
  constructor(host: CallerHost) {
    this.#host = host;
  }

  /** Streams open. */
  get size(): number {
    return this.#links.size;
  }

  /**
   * Opens a server stream.
   *
   * @param target the server
   * @param method the streaming method
   * @param params the params
   * @param options timeout, window, signal, raw
   * @returns the items
   */
  stream<T>(target: string, method: string, params: unknown, options: StreamCallOptions): StreamReader<T> {
    const { link } = this.#open<T>(StreamMode.Server, target, method, params, options);
    return new StreamReader(link);
  }

  /**
   * Opens a duplex stream.
   *
   * @param target the server
   * @param method the streaming method
   * @param params the params
   * @param options timeout, window, signal, raw
   * @returns the stream
   */
  duplex<T>(target: string, method: string, params: unknown, options: StreamCallOptions): DuplexStream<T> {
    const { link, ready } = this.#open<T>(StreamMode.Duplex, target, method, params, options);
    return new DuplexStream(link, ready);
  }

  /**
   * Uploads `items` and resolves with the server's one result.
   *
   * @param target the server
   * @param method the streaming method
   * @param items what to send
   * @param options params, timeout, signal
   * @returns the result
   */
  async upload(
    target: string,
    method: string,
    items: AsyncIterable<unknown> | Iterable<unknown>,
    options: UploadOptions,
  ): Promise<RpcReply> {
    const { link, ready } = this.#open<unknown>(StreamMode.Upload, target, method, options.params, {
      ...options,
      window: 0,
    });
    await ready;
    const iterator = Symbol.asyncIterator in items
      ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (items as Iterable<unknown>)[Symbol.iterator]();
    let exhausted = false;
    try {
      while (!link.finished) {
        const r = await iterator.next();
        if (r.done) {
          exhausted = true;
          break;
        }
        if (link.finished) break;
        const wait = link.sendItem(packParams(r.value));
        if (wait !== undefined) await wait;
      }
    } catch (err) {
      // a send that failed because the stream ended is reported below, with the stream's outcome
      if (!link.finished) {
        link.cancel(toRpcError(err));
        throw err;
      }
    } finally {
      if (!exhausted) await Promise.resolve(iterator.return?.()).catch(() => {});
    }
    link.sendEnd(EMPTY);
    const r = await link.inbox!.next();
    if (!r.done) throw new RpcError(RpcErrorCode.InvalidRequest, "An upload's server sent an item");
    return new RpcReply(link.peer, link.inbox!.endBody ?? EMPTY);
  }

  /**
   * Takes a stream frame from a server (kind `21`).
   *
   * @param sender the server's full name
   * @param payload the MESSAGE payload
   */
  receive(sender: string, payload: Uint8Array): void {
    if (payload.length < STREAM_HEADER) return;
    const id = readStreamId(payload);
    const link = this.#links.get(id);
    if (link !== undefined) {
      link.receive(payload);
      return;
    }
    answerUnknownStream(this.#host.send, sender, StreamKind.ToServer, payload);
  }

  /**
   * Ends every stream without telling the servers (the connection is gone).
   *
   * @param err what waits reject with
   */
  dropAll(err: Error): void {
    for (const link of [...this.#links.values()]) link.drop(err);
  }

  /** @internal {@linkcode LinkHost} */
  send(target: string, payload: Uint8Array): Promise<void> | undefined {
    return this.#host.send(target, payload);
  }

  /** @internal {@linkcode LinkHost} */
  forget(link: LinkKey): void {
    if (this.#links.get(link.id) === link) this.#links.delete(link.id);
  }

  #open<T>(
    mode: StreamMode,
    target: string,
    method: string,
    params: unknown,
    options: StreamCallOptions,
  ): { link: StreamLink<T>; ready: Promise<void> } {
    const window = options.window ?? DEFAULT_STREAM_WINDOW;
    const least = mode === StreamMode.Upload ? 0 : 1;
    if (!Number.isInteger(window) || window < least || window > 0xffffffff) {
      throw new RangeError(`Invalid window "${window}": must be an integer ≥ 1`);
    }
    const windowBytes = options.windowBytes;
    if (windowBytes !== undefined && (!Number.isInteger(windowBytes) || windowBytes < 1)) {
      throw new RangeError(`Invalid windowBytes "${windowBytes}": must be an integer ≥ 1`);
    }
    const timeout = options.timeout ?? this.#host.timeout;
    if (!(timeout >= 0)) {
      throw new RangeError(`Invalid timeout "${timeout}": must be a number of seconds ≥ 0`);
    }
    const idleMs = timeout === Infinity ? 0 : Math.min(0xffffffff, Math.ceil(timeout * 1000));
    const bytes = packParams(params);
    const id = this.#nextId();
    const link = new StreamLink<T>(this, {
      id,
      peer: target,
      opener: true,
      sendCredit: mode === StreamMode.Server ? null : 0,
      receiveWindow: window,
      receiveBytes: windowBytes,
      idleMs,
      decode: (options.raw ? rawItem : unpack) as (bytes: Uint8Array) => T,
    });
    this.#links.set(id, link as StreamLink<unknown>);
    const signal = options.signal;
    if (signal?.aborted) {
      const reason = abortReason(signal);
      link.drop(reason);
      const failed = Promise.reject(reason);
      failed.catch(() => {});
      return { link, ready: failed };
    }
    if (signal !== undefined) {
      const abort = () => link.cancel(abortReason(signal));
      signal.addEventListener("abort", abort, { once: true });
      const forget = () => signal.removeEventListener("abort", abort);
      link.ended.then(forget, forget);
    }
    const ready = this.#host.call(target, method, encodeOpen(mode, id, link.initialCredit, idleMs, bytes), {
      timeout,
      signal,
    })
      .then((reply) => {
        const credit = parseOpenReply(reply.payload);
        if (credit < 0) {
          throw new RpcError(
            RpcErrorCode.InvalidRequest,
            `"${method}" of "${target}" is not a streaming method: it answered as to a plain call`,
          );
        }
        if (link.finished) throw link.failure ?? new RpcError(RpcErrorCode.Eof, "The stream is over");
        link.peer = reply.sender;
        link.grant(credit);
      });
    ready.catch((err) => link.drop(err instanceof Error ? err : toRpcError(err)));
    return { link, ready };
  }

  #nextId(): number {
    let id = this.#lastId;
    do {
      id = id >= MAX_STREAM_ID ? 1 : id + 1;
    } while (this.#links.has(id));
    this.#lastId = id;
    return id;
  }
}

function rawItem(bytes: Uint8Array): Uint8Array {
  return bytes;
}

function abortReason(signal: AbortSignal): Error {
  const reason = signal.reason;
  return reason instanceof Error ? reason : new DOMException(String(reason), "AbortError");
}
