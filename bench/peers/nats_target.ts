/**
 * nats-server reached through the `nats` npm client (nats.js), TCP only
 * (nats-server has no unix-socket listener).
 *
 * @module
 */
import { connect, type NatsConnection } from "./peer_clients.ts";
import { requestPayload, sameBytes } from "./payload_check.ts";
import type { BenchConnection, Requester, Target } from "./target.ts";

const REQUEST_TIMEOUT_MS = 30_000;

class NatsBenchConnection implements BenchConnection {
  readonly inbox: string;
  readonly #nc: NatsConnection;
  #handler: (payload: Uint8Array) => void = () => {};
  readonly #deliver = (_err: unknown, msg: { data: Uint8Array }): void => this.#handler(msg.data);

  constructor(nc: NatsConnection, name: string) {
    this.#nc = nc;
    this.inbox = `in.${name}`;
  }

  send(inbox: string, payload: Uint8Array): void {
    this.#nc.publish(inbox, payload);
  }

  publish(topic: string, payload: Uint8Array): void {
    this.#nc.publish(topic, payload);
  }

  listen(): Promise<void> {
    return this.subscribe(this.inbox);
  }

  async subscribe(topic: string): Promise<void> {
    this.#nc.subscribe(topic, { callback: this.#deliver });
    await this.#nc.flush(); // PING/PONG: the SUB has been processed
  }

  flush(): Promise<void> {
    return Promise.resolve(); // nats.js writes once per microtask by itself
  }

  onMessage(handler: (payload: Uint8Array) => void): void {
    this.#handler = handler;
  }

  async close(): Promise<void> {
    await this.#nc.close();
  }
}

/**
 * A target for nats-server on `127.0.0.1:<port>`.
 *
 * @example
 * ```ts ignore
 * const t = natsTarget(4222, pid);
 * ```
 */
export function natsTarget(port: number, pid: number): Target {
  const servers = `127.0.0.1:${port}`;
  const dial = (name: string): Promise<NatsConnection> =>
    connect({ servers, name, reconnect: false, noRandomize: true });
  return {
    id: "nats-tcp",
    label: "nats-server (tcp)",
    family: "nats",
    transport: "tcp",
    pid,
    supportsTopics: true,
    requestReplyMethod: "native `request()` (muxed reply inbox) answered by `msg.respond()`",
    async open(name: string): Promise<BenchConnection> {
      return new NatsBenchConnection(await dial(name), name);
    },
    async openRequestReply(name: string, payloadSize: number): Promise<Requester> {
      const requester = await dial(`${name}.rq`);
      const responder = await dial(`${name}.rs`);
      const subject = `svc.${name}`;
      responder.subscribe(subject, { callback: (_err, msg) => msg.respond(msg.data) });
      await responder.flush();
      let nextId = 0;
      return {
        async request(): Promise<void> {
          const payload = requestPayload(nextId++, payloadSize);
          const reply = await requester.request(subject, payload, { timeout: REQUEST_TIMEOUT_MS });
          if (!sameBytes(payload, reply.data)) throw new Error("bad reply: not the echo of its request");
        },
        async close(): Promise<void> {
          await Promise.all([requester.close(), responder.close()]);
        },
      };
    },
    async connectOnce(name: string): Promise<void> {
      const nc = await dial(name);
      await nc.close();
    },
  };
}
