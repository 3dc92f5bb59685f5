/**
 * redis-server pub/sub reached through the `ioredis` npm client. A Redis
 * connection in subscriber mode cannot publish, so each bench connection is
 * a publishing connection plus, once it receives, a subscribing one.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { Redis, type RedisOptions } from "./peer_clients.ts";
import { BufferView } from "./buffer_view.ts";
import { emulatedRequestReply } from "./emulated_request_reply.ts";
import type { BenchConnection, Requester, Target, Transport } from "./target.ts";

/** Where redis-server listens. */
export type RedisAddress = { transport: "tcp"; port: number } | { transport: "unix"; path: string };

class RedisBenchConnection implements BenchConnection {
  readonly inbox: string;
  readonly #options: RedisOptions;
  readonly #pub: Redis;
  #sub: Redis | null = null;
  #pipeline: ReturnType<Redis["pipeline"]> | null = null;
  #handler: (payload: Uint8Array) => void = () => {};
  readonly #view = new BufferView();

  constructor(pub: Redis, options: RedisOptions, name: string) {
    this.#pub = pub;
    this.#options = options;
    this.inbox = `in.${name}`;
  }

  send(inbox: string, payload: Uint8Array): void {
    this.publish(inbox, payload);
  }

  publish(topic: string, payload: Uint8Array): void {
    // an explicit pipeline per batch: about twice the rate of auto-pipelining here
    (this.#pipeline ??= this.#pub.pipeline()).publish(topic, this.#view.of(payload));
  }

  listen(): Promise<void> {
    return this.subscribe(this.inbox);
  }

  async subscribe(topic: string): Promise<void> {
    if (this.#sub === null) {
      const sub = new Redis(this.#options);
      await sub.connect();
      sub.on("messageBuffer", (_channel: Buffer, message: Buffer) => this.#handler(message));
      this.#sub = sub;
    }
    await this.#sub.subscribe(topic);
  }

  flush(): Promise<void> {
    const pipeline = this.#pipeline;
    this.#pipeline = null;
    // not awaited: the replies (subscriber counts) come back while the next batch is sent
    pipeline?.exec().catch(() => {});
    return Promise.resolve();
  }

  onMessage(handler: (payload: Uint8Array) => void): void {
    this.#handler = handler;
  }

  async close(): Promise<void> {
    await Promise.all([quit(this.#pub), this.#sub === null ? undefined : quit(this.#sub)]);
  }
}

async function quit(r: Redis): Promise<void> {
  try {
    await r.quit();
  } catch {
    r.disconnect();
  }
}

/**
 * A target for redis-server pub/sub.
 *
 * @example
 * ```ts ignore
 * const t = redisTarget({ transport: "tcp", port: 6379 }, pid);
 * ```
 */
export function redisTarget(address: RedisAddress, pid: number): Target {
  const transport: Transport = address.transport;
  const base: RedisOptions = {
    ...(address.transport === "tcp" ? { host: "127.0.0.1", port: address.port } : { path: address.path }),
    lazyConnect: true,
    maxRetriesPerRequest: null,
    retryStrategy: () => null,
  };
  const open = async (name: string): Promise<BenchConnection> => {
    const options = { ...base, connectionName: name };
    const pub = new Redis(options);
    await pub.connect();
    return new RedisBenchConnection(pub, options, name);
  };
  return {
    id: `redis-${transport}`,
    label: `redis-server (${transport})`,
    family: "redis",
    transport,
    pid,
    supportsTopics: true,
    requestReplyMethod:
      "PUBLISH with a 4-byte correlation id, echoed by PUBLISH to the requester's channel (pipelined per microtask)",
    open,
    async openRequestReply(name: string, payloadSize: number): Promise<Requester> {
      return await emulatedRequestReply(await open(`${name}.rq`), await open(`${name}.rs`), payloadSize);
    },
    async connectOnce(_name: string): Promise<void> {
      // no handshake in RESP2: a PING proves the server accepted the connection
      const r = new Redis({ ...base, enableReadyCheck: false });
      await r.connect();
      await r.ping();
      await quit(r);
    },
  };
}
