/**
 * A Web Worker that runs one bus client for tests/worker_test.ts. The test
 * posts one {@linkcode WorkerTask}; the worker connects over the given port
 * or channel, plays its role and posts {@linkcode WorkerReport}s back.
 *
 * @module
 */
import { connectChannel, connectPort, type IpcClient } from "../client/mod.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import type { RpcReply } from "../rpc/rpc_event.ts";
import { QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";

/** What the test asks a worker to do. */
export interface WorkerTask {
  /** How to reach the broker. */
  via: { port: MessagePort } | { channel: string };
  /** Client name. */
  name: string;
  /** Role. */
  role: "send" | "receive" | "rpc" | "stream" | "secondary";
  /** send: target; receive: topic or null for direct messages. */
  target?: string | null;
  /** send: frame count; receive: frames expected. */
  count?: number;
  /** send: publish instead of send. */
  publish?: boolean;
  /** rpc: name of the socket client to call back. */
  callBack?: string;
  /** Seconds between pings (default: the client's, 5 s). */
  pingInterval?: number;
}

/** What a worker reports. */
export type WorkerReport =
  | { type: "ready" }
  | { type: "sent"; count: number }
  | { type: "received"; count: number; inOrder: boolean; senders: string[] }
  | { type: "error"; code: number | null; message: string };

const scope = self as unknown as {
  postMessage(message: WorkerReport): void;
  onmessage: ((e: MessageEvent<WorkerTask>) => void) | null;
};
const post = (r: WorkerReport) => scope.postMessage(r);

scope.onmessage = async (e: MessageEvent<WorkerTask>) => {
  const task = e.data;
  let client: IpcClient;
  try {
    // a generous timeout (the suite runs in parallel on 2 cores), but frequent pings when the
    // broker's own timeout is short (the terminate test)
    const options = { name: task.name, timeout: 10, pingInterval: task.pingInterval };
    client = "port" in task.via
      ? await connectPort(task.via.port, options)
      : await connectChannel(task.via.channel, options);
  } catch (err) {
    post({ type: "error", code: err instanceof BusError ? err.code : null, message: String(err) });
    return;
  }
  try {
    switch (task.role) {
      case "send": {
        const enc = new TextEncoder();
        for (let i = 0; i < task.count!; i++) {
          const payload = enc.encode(String(i));
          if (task.publish) client.publish(task.target!, payload);
          else client.send(task.target!, payload);
          if (i % 4096 === 4095) await client.flush();
        }
        // an acknowledged frame last: everything before it has reached the broker
        if (task.publish) await client.publish(task.target!, "end", QoS.Processed);
        else await client.send(task.target!, "end", QoS.Processed);
        post({ type: "sent", count: task.count! });
        break;
      }
      case "receive": {
        if (task.target) await client.subscribe(task.target, QoS.Processed);
        post({ type: "ready" });
        const dec = new TextDecoder();
        let count = 0;
        let inOrder = true;
        const senders = new Set<string>();
        for await (const f of client) {
          const text = dec.decode(f.payload);
          if (text === "end") break;
          if (Number(text) !== count) inOrder = false;
          senders.add(f.sender ?? "");
          count++;
        }
        post({ type: "received", count, inOrder, senders: [...senders] });
        break;
      }
      case "rpc": {
        const rpc: RpcClient = new RpcClient(client, {
          handlers: {
            async onCall(c): Promise<Uint8Array> {
              if (c.method === "echo") return c.params;
              if (c.method === "ask") {
                // a call through this worker's own client, from inside a handler
                const reply: RpcReply = await rpc.call(task.callBack!, "ping", new Uint8Array(0));
                return new TextEncoder().encode(`worker got ${new TextDecoder().decode(reply.payload)}`);
              }
              throw new Error(`no method ${c.method}`);
            },
          },
        });
        post({ type: "ready" });
        await rpc.closed;
        break;
      }
      case "stream": {
        // sends until terminated, with a secondary connected too
        await client.registerSecondary();
        post({ type: "ready" });
        for (let i = 0;; i++) {
          client.send(task.target!, String(i));
          if (i % 256 === 255) await new Promise((r) => setTimeout(r, 1));
        }
      }
      // falls through: never reached
      case "secondary": {
        const second = await client.registerSecondary();
        await second.send(task.target!, "from the secondary", QoS.Processed);
        post({ type: "sent", count: 1 });
        await second.close();
        break;
      }
    }
  } catch (err) {
    post({ type: "error", code: err instanceof BusError ? err.code : null, message: String(err) });
  } finally {
    await client.close();
  }
};
