/**
 * Serves the browser example: the page, its script and the browser bundle
 * (`deno task bundle:browser` builds `dist/busrt.browser.js`), and, run as
 * a program, a broker with a WebSocket bind and the `.broker` core RPC for
 * the page to talk to.
 *
 * Run:
 *   deno task bundle:browser
 *   deno run --allow-net=127.0.0.1 --allow-read examples/browser/serve.ts
 * then open http://127.0.0.1:8080/ (the page connects to ws://127.0.0.1:7780/).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Broker, consoleLogger, enableCoreRpc } from "../../mod.ts";

/** Options of {@linkcode servePage}. */
export interface PageServerOptions {
  /** Where to listen. Default 127.0.0.1. */
  hostname?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** The browser bundle to serve as `/busrt.browser.js`. Default `dist/busrt.browser.js` of the project. */
  bundle?: string;
}

/** A running page server. */
export interface PageServer {
  /** `http://host:port/`, the page's URL. */
  url: string;
  /** Stops the server. */
  close(): Promise<void>;
}

const HERE = new URL("./", import.meta.url);
const FILES: Record<string, { file: URL | null; type: string }> = {
  "/": { file: new URL("index.html", HERE), type: "text/html; charset=utf-8" },
  "/index.html": { file: new URL("index.html", HERE), type: "text/html; charset=utf-8" },
  "/app.js": { file: new URL("app.js", HERE), type: "text/javascript; charset=utf-8" },
  "/busrt.browser.js": { file: null, type: "text/javascript; charset=utf-8" },
};

/**
 * Serves the page, its script and the bundle; nothing else (404).
 *
 * @param options where to listen and which bundle to serve
 * @returns the server, with the page's URL
 */
export function servePage(options: PageServerOptions = {}): PageServer {
  const bundle = options.bundle ?? new URL("../../dist/busrt.browser.js", HERE).pathname;
  const hostname = options.hostname ?? "127.0.0.1";
  const server = Deno.serve({ hostname, port: options.port ?? 8080, onListen() {} }, async (request) => {
    const entry = FILES[new URL(request.url).pathname];
    if (entry === undefined || request.method !== "GET") return new Response("Not Found\n", { status: 404 });
    try {
      const body = await Deno.readFile(entry.file ?? bundle);
      return new Response(body, { headers: { "content-type": entry.type, "cache-control": "no-store" } });
    } catch {
      return new Response("Not built: run deno task bundle:browser\n", { status: 404 });
    }
  });
  return {
    url: `http://${hostname}:${server.addr.port}/`,
    close: () => server.shutdown(),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string", default: "8080" },
      bus: { type: "string", default: "ws://127.0.0.1:7780/" },
    },
  });
  const broker = new Broker({ logger: consoleLogger("info") });
  enableCoreRpc(broker);
  const listener = await broker.serve(values.bus, { timeout: 5 });
  const page = servePage({ port: Number(values.port) });
  console.log(`page: ${page.url}?bus=${encodeURIComponent(listener.bind)}`);
}
