/**
 * The push side of an {@linkcode Acceptor}: transports that learn of new
 * connections from events (worker ports, broadcast channels) push them here,
 * and the broker's accept loop iterates them.
 *
 * @example Push a connection and accept it
 * ```ts
 * import assert from "node:assert/strict";
 * import { AcceptQueue } from "./accept_queue.ts";
 * import { MessagePortLink } from "./message_port_link.ts";
 * const queue = new AcceptQueue("test");
 * const { port1, port2 } = new MessageChannel();
 * const link = new MessagePortLink(port1);
 * queue.push({ link, origin: { kind: "worker", source: null, port: "test", peer: { ip: null } } });
 * for await (const accepted of queue) {
 *   assert.equal(accepted.link, link);
 *   break;
 * }
 * link.close();
 * port2.close();
 * queue.close();
 * ```
 *
 * @module
 */
import type { Accepted, Acceptor } from "./acceptor.ts";
import { closeQuietly } from "./link.ts";

/** An {@linkcode Acceptor} fed by {@linkcode AcceptQueue.push}. */
export class AcceptQueue implements Acceptor {
  /** The listener's name, shown as `port` in `client.list`. */
  readonly bind: string;
  readonly #items: Accepted[] = [];
  #waiter: (() => void) | null = null;
  #closed = false;
  readonly #onClose: () => void;

  /**
   * Creates an empty queue.
   *
   * @param bind the listener's name
   * @param onClose called once by `close()`, to release the event source
   */
  constructor(bind: string, onClose: () => void = () => {}) {
    this.bind = bind;
    this.#onClose = onClose;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Offers a new connection; after `close()` it is closed at once.
   *
   * @param accepted the connection and its origin
   */
  push(accepted: Accepted): void {
    if (this.#closed) {
      closeQuietly(accepted.link);
      return;
    }
    this.#items.push(accepted);
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Accepted> {
    for (;;) {
      const next = this.#items.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
  }

  /** Stops accepting: connections not yet accepted are closed. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of this.#items.splice(0)) closeQuietly(a.link);
    this.#onClose();
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }
}
