/**
 * Shared helpers of the streaming-call tests: collecting a stream, waiting
 * until no stream state is left, and an endless stream that reports why it
 * was stopped.
 *
 * @module
 */
import type { RpcClient } from "../rpc/rpc_client.ts";
import type { RpcError } from "../rpc/rpc_error.ts";
import { waitFor } from "./_helpers.ts";

/** Waits until none of the clients holds stream state (fails after 5 s, naming their counts). */
export async function assertNoStreams(...clients: RpcClient[]): Promise<void> {
  await waitFor(
    () => clients.every((c) => c.streamStats().calling === 0 && c.streamStats().serving === 0),
    5000,
    `no stream state left (${
      clients.map((c) => `${c.name}: ${JSON.stringify(c.streamStats())}`).join(", ")
    })`,
  );
}

/** Reads a stream to its end. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * Serves `method` as an endless stream of numbers; resolves, once the
 * handler's iterator is returned, with the RPC code its signal aborted with
 * (0: not aborted).
 */
export function serveEndless(server: RpcClient, method: string): Promise<number> {
  const ended = Promise.withResolvers<number>();
  server.handleStream(method, async function* (_p, ctx) {
    try {
      for (let i = 0;; i++) yield i;
    } finally {
      ended.resolve((ctx.signal.reason as RpcError | undefined)?.code ?? 0);
    }
  });
  return ended.promise;
}
