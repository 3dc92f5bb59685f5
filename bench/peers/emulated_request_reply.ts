/**
 * Request/reply built from plain messages, for brokers without a native
 * request primitive (Redis and MQTT pub/sub, and ours before the RPC layer):
 * the request carries a 4-byte correlation id, the responder echoes it to the
 * requester's inbox.
 *
 * @module
 */
import { requestPayload, sameBytes } from "./payload_check.ts";
import type { BenchConnection, Requester } from "./target.ts";

/**
 * Wires `requester` and `responder` into a {@linkcode Requester}. Both
 * connections are closed by its `close()`.
 *
 * @example
 * ```ts ignore
 * const rr = await emulatedRequestReply(await t.open("rq"), await t.open("rs"), 100);
 * await rr.request();
 * await rr.close();
 * ```
 */
export async function emulatedRequestReply(
  requester: BenchConnection,
  responder: BenchConnection,
  payloadSize: number,
): Promise<Requester> {
  if (payloadSize < 4) {
    throw new RangeError(`Invalid request size "${payloadSize}": must be at least 4 bytes`);
  }
  await requester.listen();
  await responder.listen();
  const replyTo = requester.inbox;
  const serviceInbox = responder.inbox;
  const flushResponder = coalescedFlush(responder);
  const flushRequester = coalescedFlush(requester);
  responder.onMessage((payload) => {
    responder.send(replyTo, payload);
    flushResponder();
  });
  const pending = new Map<number, { request: Uint8Array; resolve: () => void; reject: (e: Error) => void }>();
  requester.onMessage((payload) => {
    const id = (payload[0] | (payload[1] << 8) | (payload[2] << 16) | (payload[3] << 24)) >>> 0;
    const waiting = pending.get(id);
    if (waiting !== undefined) {
      pending.delete(id);
      if (sameBytes(waiting.request, payload)) waiting.resolve();
      else waiting.reject(new Error("bad reply: not the echo of its request"));
    }
  });
  let nextId = 0;
  return {
    request(): Promise<void> {
      const id = nextId = (nextId + 1) >>> 0;
      // a fresh buffer: some clients keep a reference until the write
      const payload = requestPayload(id, payloadSize);
      const { promise, resolve, reject } = Promise.withResolvers<void>();
      pending.set(id, { request: payload, resolve, reject });
      requester.send(serviceInbox, payload);
      flushRequester();
      return promise;
    },
    async close(): Promise<void> {
      await Promise.all([requester.close(), responder.close()]);
    },
  };
}

/** One `flush()` per microtask however many messages were queued in it. */
function coalescedFlush(conn: BenchConnection): () => void {
  let scheduled = false;
  const run = () => {
    scheduled = false;
    conn.flush().catch(() => {});
  };
  return () => {
    if (!scheduled) {
      scheduled = true;
      queueMicrotask(run);
    }
  };
}
