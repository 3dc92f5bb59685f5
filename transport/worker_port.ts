/**
 * Worker ports: a broker hands a Web Worker a *gateway* `MessagePort`; each
 * connection the worker makes over it (its client, and every secondary) is a
 * new `MessageChannel` whose far end travels through the gateway, so every
 * connection is its own byte stream ({@linkcode MessagePortLink}).
 *
 * @example A gateway and a connection over it, in one thread
 * ```ts
 * import assert from "node:assert/strict";
 * import { dialWorkerPort, listenWorkerPorts } from "./worker_port.ts";
 * const acceptor = listenWorkerPorts("worker:port");
 * const gateway = acceptor.gateway();
 * const client = dialWorkerPort(gateway);
 * await client.write(new Uint8Array([7]));
 * for await (const { link, origin } of acceptor) {
 *   assert.equal(origin.kind, "worker");
 *   const buf = new Uint8Array(1);
 *   assert.equal(await link.read(buf), 1);
 *   assert.equal(buf[0], 7);
 *   link.close();
 *   break;
 * }
 * client.close();
 * gateway.close();
 * acceptor.close();
 * ```
 *
 * @module
 */
import { AcceptQueue } from "./accept_queue.ts";
import type { AcceptedOrigin } from "./acceptor.ts";
import type { Link } from "./link.ts";
import { MessagePortLink } from "./message_port_link.ts";

/** What a worker posts on the gateway to open a connection. */
interface OpenRequest {
  open: MessagePort;
}

/** An acceptor of worker connections that makes gateway ports to hand to workers. */
export interface WorkerPortAcceptor extends AcceptQueue {
  /**
   * Makes a gateway port to transfer to a worker (`worker.postMessage(port, [port])`).
   *
   * @returns the worker's end of a new gateway
   */
  gateway(): MessagePort;
}

/**
 * Accepts connections opened over gateway ports.
 *
 * @param bind the listener's name, shown as `port` in `client.list`
 * @returns the acceptor; `close()` closes every gateway
 */
export function listenWorkerPorts(bind: string): WorkerPortAcceptor {
  const gateways = new Set<MessagePort>();
  const origin: AcceptedOrigin = { kind: "worker", source: null, port: bind, peer: { ip: null } };
  const queue = new AcceptQueue(bind, () => {
    for (const g of gateways) g.close();
    gateways.clear();
  });
  return Object.assign(queue, {
    gateway(): MessagePort {
      const { port1, port2 } = new MessageChannel();
      if (queue.closed) {
        port1.close();
        return port2;
      }
      gateways.add(port1);
      port1.onmessage = (e: MessageEvent<OpenRequest>) => {
        if (e.data?.open instanceof MessagePort) {
          queue.push({ link: new MessagePortLink(e.data.open), origin });
        }
      };
      return port2;
    },
  });
}

/**
 * Opens a connection over a gateway port (in the worker).
 *
 * @param gateway the port the broker handed to this worker
 * @returns the connection's byte stream
 */
export function dialWorkerPort(gateway: MessagePort): Link {
  const { port1, port2 } = new MessageChannel();
  const request: OpenRequest = { open: port2 };
  gateway.postMessage(request, [port2]);
  return new MessagePortLink(port1);
}
