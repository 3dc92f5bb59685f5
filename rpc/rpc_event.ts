/**
 * What an RPC endpoint hands to its handlers (calls and notifications) and
 * what a caller gets back (replies).
 *
 * @module
 */
import type { Frame } from "../protocol/frame.ts";
import { decodeUtf8 } from "../protocol/text.ts";
import { unpack } from "./msgpack.ts";
import { RpcError, RpcErrorCode } from "./rpc_error.ts";

const lenientDecoder = new TextDecoder();

/** What calls and notifications share: the frame they came in and its sender. */
export abstract class RpcIncoming {
  /** The frame the request or notification came in. */
  readonly frame: Frame;

  /**
   * @internal
   *
   * @param frame the frame the request or notification came in
   */
  constructor(frame: Frame) {
    this.frame = frame;
  }

  /** Full sender name (replies go there). */
  get sender(): string {
    return this.frame.sender;
  }

  /** The sender's primary name. */
  get primarySender(): string {
    return this.frame.primarySender;
  }

  /** Whether the frame was realtime (a reply then uses QoS 3). */
  get realtime(): boolean {
    return this.frame.realtime;
  }
}

/**
 * An incoming RPC request, given to the `onCall` handler.
 *
 * @example A handler reading MessagePack params
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { type RpcCall, RpcClient, RpcError, RpcErrorCode } from "./mod.ts";
 * function onCall(call: RpcCall): unknown {
 *   if (call.method !== "hello") throw new RpcError(RpcErrorCode.MethodNotFound);
 *   const { name } = call.unpack<{ name: string }>();
 *   return `hello, ${name}`;
 * }
 * const broker = new Broker();
 * const greeter = new RpcClient(broker.registerClient("greeter"), { handlers: { onCall } });
 * const rpc = new RpcClient(broker.registerClient("app"));
 * assert.equal((await rpc.call("greeter", "hello", { name: "Ann" })).unpack(), "hello, Ann");
 * await assert.rejects(rpc.call("greeter", "bye"), (err: RpcError) => err.isMethodNotFound());
 * await rpc.close();
 * await greeter.close();
 * await broker.close();
 * ```
 */
export class RpcCall extends RpcIncoming {
  /** Call id; 0 means the caller wants no reply (call0). */
  readonly id: number;
  /** The method name as sent (any bytes but 0x00). */
  readonly methodBytes: Uint8Array;
  /** The params bytes (conventionally MessagePack; may be empty). */
  readonly params: Uint8Array;
  #method: string | null | undefined = undefined;

  /**
   * @internal Created by the RPC client; `method` is the already decoded
   * name (null: not UTF-8), when known.
   *
   * @param frame the frame the request came in
   * @param id the call id
   * @param methodBytes the method name as sent
   * @param params the params bytes
   * @param method the decoded method name, when known
   */
  constructor(
    frame: Frame,
    id: number,
    methodBytes: Uint8Array,
    params: Uint8Array,
    method?: string | null,
  ) {
    super(frame);
    this.id = id;
    this.methodBytes = methodBytes;
    this.params = params;
    this.#method = method;
  }

  /**
   * The method name.
   *
   * @throws {RpcError} -32114 (data) when it is not valid UTF-8; thrown from a
   * handler, the caller gets exactly that error
   */
  get method(): string {
    if (this.#method === undefined) {
      this.#method = decodeUtf8(this.methodBytes, 0, this.methodBytes.length);
    }
    if (this.#method === null) throw new RpcError(RpcErrorCode.Data);
    return this.#method;
  }

  /** Whether the caller waits for a reply (id ≠ 0). */
  get needsReply(): boolean {
    return this.id !== 0;
  }

  /**
   * Decodes the params as MessagePack; empty params give `undefined`.
   *
   * @throws {RpcError} -32700 (parse) with the decoder's message
   */
  unpack<T = unknown>(): T {
    return unpack<T>(this.params);
  }
}

/**
 * An incoming RPC notification, given to the `onNotification` handler.
 *
 * @example A handler reading text notifications
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { RpcClient, type RpcNotification } from "./mod.ts";
 * const received = Promise.withResolvers<string>();
 * function onNotification(n: RpcNotification): void {
 *   received.resolve(`${n.sender}: ${n.text()}`);
 * }
 * const broker = new Broker();
 * const listener = new RpcClient(broker.registerClient("listener"), { handlers: { onNotification } });
 * const rpc = new RpcClient(broker.registerClient("app"));
 * await rpc.notify("listener", new TextEncoder().encode("started"));
 * assert.equal(await received.promise, "app: started");
 * await rpc.close();
 * await listener.close();
 * await broker.close();
 * ```
 */
export class RpcNotification extends RpcIncoming {
  /** The notification data (after the kind byte). */
  readonly payload: Uint8Array;

  /**
   * @internal Created by the RPC client.
   *
   * @param frame the frame the notification came in
   * @param payload the notification data
   */
  constructor(frame: Frame, payload: Uint8Array) {
    super(frame);
    this.payload = payload;
  }

  /** The payload as UTF-8 text (invalid sequences replaced). */
  text(): string {
    return lenientDecoder.decode(this.payload);
  }

  /**
   * Decodes the payload as MessagePack; an empty payload gives `undefined`.
   *
   * @throws {RpcError} -32700 (parse)
   */
  unpack<T = unknown>(): T {
    return unpack<T>(this.payload);
  }
}

/**
 * The successful result of a call.
 *
 * @example Read a MessagePack result
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker } from "../broker/mod.ts";
 * import { enableCoreRpc, RpcClient } from "./mod.ts";
 * const broker = new Broker();
 * enableCoreRpc(broker);
 * const rpc = new RpcClient(broker.registerClient("app"));
 * const reply = await rpc.call(".broker", "test");
 * assert.equal(reply.sender, ".broker");
 * assert.equal(reply.unpack<{ ok: boolean }>().ok, true);
 * await rpc.close();
 * await broker.close();
 * ```
 */
export class RpcReply {
  /** Full name of the client that replied. */
  readonly sender: string;
  /** The result bytes (may be empty). */
  readonly payload: Uint8Array;

  /**
   * @internal Created by the RPC client.
   *
   * @param sender the full name of the client that replied
   * @param payload the result bytes
   */
  constructor(sender: string, payload: Uint8Array) {
    this.sender = sender;
    this.payload = payload;
  }

  /** Whether the result is empty. */
  get isEmpty(): boolean {
    return this.payload.length === 0;
  }

  /** The result as UTF-8 text (invalid sequences replaced). */
  text(): string {
    return lenientDecoder.decode(this.payload);
  }

  /**
   * Decodes the result as MessagePack; an empty result gives `undefined`.
   *
   * @throws {RpcError} -32700 (parse)
   */
  unpack<T = unknown>(): T {
    return unpack<T>(this.payload);
  }
}
