/**
 * The worker side of bench/worker_bench.ts: one client over a worker port, a
 * broadcast channel or a unix socket, playing one role and reporting timings.
 *
 * @module
 */
import { connect, connectChannel, connectPort, type IpcClient } from "../client/mod.ts";
import { RpcClient } from "../rpc/rpc_client.ts";
import { QoS } from "../protocol/constants.ts";

/** What the bench asks of a worker. */
export interface BenchTask {
  /** How to reach the broker. */
  via: { port: MessagePort } | { channel: string } | { socket: string };
  /** Client name. */
  name: string;
  /** send: pipelined messages to `target`; receive: count them; rpc-server / rpc-caller: echo calls. */
  role: "send" | "receive" | "rpc-server" | "rpc-caller";
  /** Peer name. */
  target?: string;
  /** Messages or calls. */
  count?: number;
  /** Payload bytes. */
  size?: number;
}

/** What a worker reports. */
export interface BenchReport {
  /** Ready to start, or done. */
  type: "ready" | "done";
  /** Messages received, or calls made. */
  count?: number;
  /** Milliseconds from the first to the last message (receive). */
  ms?: number;
  /** Round-trip times in microseconds (rpc-caller). */
  rtts?: number[];
}

const scope = self as unknown as {
  postMessage(message: BenchReport): void;
  onmessage: ((e: MessageEvent<BenchTask>) => void) | null;
};

function open(task: BenchTask): Promise<IpcClient> {
  const options = { name: task.name, timeout: 10, queueSize: 1 << 20 };
  if ("port" in task.via) return connectPort(task.via.port, options);
  if ("channel" in task.via) return connectChannel(task.via.channel, options);
  return connect(task.via.socket, options);
}

scope.onmessage = async (e) => {
  const task = e.data;
  const client = await open(task);
  const payload = new Uint8Array(task.size ?? 100);
  switch (task.role) {
    case "send": {
      scope.postMessage({ type: "ready" });
      for (let i = 0; i < task.count!; i++) {
        client.send(task.target!, payload);
        if ((i & 4095) === 4095) await client.flush();
      }
      await client.send(task.target!, new Uint8Array(0), QoS.Processed);
      scope.postMessage({ type: "done" });
      break;
    }
    case "receive": {
      scope.postMessage({ type: "ready" });
      let n = 0;
      let start = 0;
      for await (const f of client) {
        if (n === 0) start = performance.now();
        if (f.payload.length === 0) break;
        n++;
      }
      scope.postMessage({ type: "done", count: n, ms: performance.now() - start });
      break;
    }
    case "rpc-server": {
      const rpc = new RpcClient(client, { handlers: { onCall: (c) => c.params } });
      scope.postMessage({ type: "ready" });
      await rpc.closed;
      return;
    }
    case "rpc-caller": {
      const rpc = new RpcClient(client);
      const rtts: number[] = [];
      for (let i = 0; i < task.count!; i++) {
        const t0 = performance.now();
        await rpc.call(task.target!, "echo", payload);
        rtts.push((performance.now() - t0) * 1000);
      }
      scope.postMessage({ type: "done", count: task.count!, rtts });
      break;
    }
  }
  await client.close();
};
