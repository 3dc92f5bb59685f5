/**
 * A real NATS cluster on 127.0.0.1 for tests and benches: N `nats-server`
 * processes, each with a client port and a cluster port, routed to each
 * other. Ports are picked free (bind port 0, close, use), retried on a
 * clash. Only processes started here are ever stopped, by their PID.
 *
 * @module
 */
import { connect } from "@nats-io/transport-node";

/** Where nats-server is (Debian package `nats-server`). */
export const NATS_SERVER: string = Deno.env.get("NATS_SERVER") ??
  ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].find(isFile) ??
  "/usr/sbin/nats-server";

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Whether nats-server is installed; tests skip without it. */
export const NATS_AVAILABLE: boolean = isFile(NATS_SERVER);

/** One node of the cluster. */
export interface NatsNode {
  /** Client URL, `nats://127.0.0.1:PORT`. */
  url: string;
  /** Cluster (route) port. */
  clusterPort: number;
  /** The server process, or null once killed. */
  process: Deno.ChildProcess | null;
}

/** A running cluster. */
export interface NatsCluster {
  /** The nodes, in start order. */
  nodes: NatsNode[];
  /** Kills one node at once (SIGKILL), as a crash would. */
  kill(index: number): Promise<void>;
  /** Stops every node still running. */
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitListening(port: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      c.close();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

/**
 * Starts an `n`-node cluster and waits until a message published on each
 * node reaches subscribers on every other node (routes up, interest known).
 *
 * @param n how many nodes
 * @returns the cluster
 */
export async function startNatsCluster(n = 3): Promise<NatsCluster> {
  for (let attempt = 0;; attempt++) {
    const nodes: NatsNode[] = [];
    const ports = Array.from({ length: n }, () => ({ client: freePort(), cluster: freePort() }));
    for (let i = 0; i < n; i++) {
      const routes = ports.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p.cluster}`).join(",");
      const process = new Deno.Command(NATS_SERVER, {
        args: [
          "-a",
          "127.0.0.1",
          "-p",
          String(ports[i].client),
          "--cluster",
          `nats://127.0.0.1:${ports[i].cluster}`,
          "--cluster_name",
          "busrt-test",
          ...(n > 1 ? ["--routes", routes] : []),
          "-n",
          `busrt-test-${i + 1}`,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      nodes.push({ url: `nats://127.0.0.1:${ports[i].client}`, clusterPort: ports[i].cluster, process });
    }
    const cluster = makeCluster(nodes);
    const up = await Promise.all(ports.map((p) => waitListening(p.client, 5000)));
    // a port picked free can be taken by another test before nats-server binds it (then connects are
    // refused, or reach that other listener): such an attempt starts over on new ports
    if (up.every((u) => u) && await routed(nodes)) return cluster;
    await cluster.stop();
    if (attempt >= 4) throw new Error("Cannot start a NATS cluster on 127.0.0.1");
  }
}

function makeCluster(nodes: NatsNode[]): NatsCluster {
  const stopOne = async (node: NatsNode, signal: Deno.Signal) => {
    const p = node.process;
    if (p === null) return;
    node.process = null;
    try {
      p.kill(signal);
    } catch {
      // already gone
    }
    await p.status;
  };
  return {
    nodes,
    kill: (i) => stopOne(nodes[i], "SIGKILL"),
    stop: async () => {
      await Promise.all(nodes.map((node) => stopOne(node, "SIGTERM")));
    },
  };
}

/** Whether every node's publications reach every other node (within 10 s). */
async function routed(nodes: NatsNode[]): Promise<boolean> {
  const settled = await Promise.allSettled(nodes.map((n) => connect({ servers: n.url })));
  const conns = settled.flatMap((r) => r.status === "fulfilled" ? [r.value] : []);
  if (conns.length < nodes.length) {
    await Promise.all(conns.map((nc) => nc.close()));
    return false;
  }
  try {
    const seen = nodes.map(() => new Set<number>());
    conns.forEach((nc, i) =>
      nc.subscribe("probe.routes", {
        callback: (_err, msg) => {
          seen[i].add(msg.data[0]);
        },
      })
    );
    await Promise.all(conns.map((nc) => nc.flush()));
    const until = Date.now() + 10_000;
    while (Date.now() < until) {
      conns.forEach((nc, i) => nc.publish("probe.routes", new Uint8Array([i])));
      await new Promise((r) => setTimeout(r, 50));
      if (seen.every((s) => s.size === nodes.length)) return true;
    }
    return false;
  } finally {
    await Promise.all(conns.map((nc) => nc.close()));
  }
}
