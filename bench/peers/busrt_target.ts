/**
 * Our broker (and the raw relay, which speaks the same protocol) reached
 * through our own IPC client.
 *
 * @module
 */
import { connect, type ConnectOptions, type IpcClient } from "../../client/mod.ts";
import { QoS } from "../../protocol/constants.ts";
import { RpcClient } from "../../rpc/mod.ts";
import { emulatedRequestReply } from "./emulated_request_reply.ts";
import { requestPayload, sameBytes } from "./payload_check.ts";
import type { BenchConnection, Family, Requester, Target, Transport } from "./target.ts";

/** Where a BUS/RT server listens. */
export interface BusrtTargetOptions {
  /** Target id. */
  id: string;
  /** Table label. */
  label: string;
  /** `busrt` for our broker, `busrtd` for the Rust reference, `relay` for the ceiling. */
  family: Extract<Family, "busrt" | "busrtd" | "relay">;
  /** Transport of `address`. */
  transport: Transport;
  /** Socket path or `host:port`. */
  address: string;
  /** Server PID. */
  pid: number;
  /** Request/reply through the RPC layer (default) or plain messages echoed by name. */
  requestReply?: "rpc" | "plain";
  /**
   * The clients' {@linkcode ConnectOptions.largePayloads} for messages (default `"owned"`): the
   * receivers check each payload before taking the next, so `"borrowed"` is safe here.
   */
  largePayloads?: "owned" | "borrowed";
}

const CONNECT_TIMEOUT_S = 10;

class BusrtConnection implements BenchConnection {
  readonly inbox: string;
  readonly #client: IpcClient;
  readonly #consumer: Promise<void>;
  #handler: (payload: Uint8Array) => void = () => {};

  constructor(client: IpcClient) {
    this.#client = client;
    this.inbox = client.name;
    this.#consumer = this.#consume();
  }

  async #consume(): Promise<void> {
    try {
      for await (const frame of this.#client) this.#handler(frame.payload);
    } catch {
      // connection ended; the workload notices missing messages
    }
  }

  send(inbox: string, payload: Uint8Array): void {
    this.#client.send(inbox, payload);
  }

  publish(topic: string, payload: Uint8Array): void {
    this.#client.publish(topic, payload);
  }

  listen(): Promise<void> {
    return Promise.resolve(); // direct messages need no subscription
  }

  subscribe(topic: string): Promise<void> {
    return this.#client.subscribe(topic, QoS.Processed);
  }

  flush(): Promise<void> {
    return this.#client.flush();
  }

  onMessage(handler: (payload: Uint8Array) => void): void {
    this.#handler = handler;
  }

  async close(): Promise<void> {
    await this.#client.close();
    await this.#consumer;
  }
}

/**
 * A target for a BUS/RT server at `address`.
 *
 * @example
 * ```ts ignore
 * const t = busrtTarget({ id: "busrt-unix", label: "busrt (unix)", family: "busrt",
 *   transport: "unix", address: "/tmp/b.sock", pid });
 * ```
 */
export function busrtTarget(options: BusrtTargetOptions): Target {
  const dial = (name: string) => connect(options.address, { name, timeout: CONNECT_TIMEOUT_S });
  const open = async (name: string): Promise<BenchConnection> =>
    new BusrtConnection(
      await connect(
        options.address,
        {
          name,
          timeout: CONNECT_TIMEOUT_S,
          largePayloads: options.largePayloads ?? "owned",
        } satisfies ConnectOptions,
      ),
    );
  const rpc = (options.requestReply ?? "rpc") === "rpc";
  return {
    id: options.id,
    label: options.label,
    family: options.family,
    transport: options.transport,
    pid: options.pid,
    supportsTopics: options.family !== "relay",
    requestReplyMethod: rpc
      ? "the RPC layer (`rpc/`): `RpcClient.call()` to a handler returning the params, with the RPC " +
        "client's default QoS 1 (the broker ACKs the request and the reply frames)"
      : "direct message with a 4-byte correlation id, echoed to the requester by name",
    open,
    async openRequestReply(name: string, payloadSize: number): Promise<Requester> {
      if (!rpc) {
        return await emulatedRequestReply(await open(`${name}.rq`), await open(`${name}.rs`), payloadSize);
      }
      const handlerName = `${name}.rs`;
      const handler = new RpcClient(await dial(handlerName), { handlers: { onCall: (call) => call.params } });
      const caller = new RpcClient(await dial(`${name}.rq`));
      let nextId = 0;
      return {
        async request(): Promise<void> {
          const params = requestPayload(nextId++, payloadSize);
          const reply = await caller.call(handlerName, "echo", params);
          if (!sameBytes(params, reply.payload)) throw new Error("bad reply: not the echo of its request");
        },
        async close(): Promise<void> {
          await Promise.all([caller.close(), handler.close()]);
        },
      };
    },
    async connectOnce(name: string): Promise<void> {
      const client = await connect(options.address, { name, timeout: CONNECT_TIMEOUT_S, pingInterval: 0 });
      await client.close();
    },
  };
}
