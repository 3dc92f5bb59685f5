/**
 * Headless Chromium for tests, driven over the DevTools protocol on a
 * loopback port: open a page, collect its console, take a screenshot.
 * Everything stays on 127.0.0.1: the flags turn off background networking,
 * component updates, sync, metrics and the like. {@linkcode HeadlessChromium.close}
 * always ends the browser and its child processes, by PID.
 *
 * @module
 */

/** Where Chromium may be: the real binary first (the Debian launcher script does not always exec it). */
const CANDIDATES = ["/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"];

/** The flags: headless, no sandbox (containers), and nothing that talks to the network by itself. */
const FLAGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-default-apps",
  "--metrics-recording-only",
  "--disable-features=OptimizationHints,MediaRouter,DialMediaRouteProvider",
  "--no-default-browser-check",
  "--disable-domain-reliability",
  "--disable-client-side-phishing-detection",
  "--disable-breakpad",
  "--no-pings",
  "--disable-dev-shm-usage",
  "--remote-debugging-address=127.0.0.1",
  "--remote-debugging-port=0",
  "--window-size=1000,640",
];

/** The Chromium binary to use (`CHROMIUM_BIN`, else the usual places), or null. */
export async function findChromium(): Promise<string | null> {
  const fromEnv = Deno.env.get("CHROMIUM_BIN");
  for (const path of fromEnv === undefined ? CANDIDATES : [fromEnv]) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not there
    }
  }
  return null;
}

interface CdpMessage {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
  sessionId?: string;
}

/** The PIDs of every descendant of `pid` (read from /proc). */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number[]>();
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = await Deno.readTextFile(`/proc/${entry.name}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = parents.get(ppid) ?? [];
      list.push(Number(entry.name));
      parents.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

/** A running headless Chromium with one page. */
export class HeadlessChromium {
  /** Console lines and exceptions of the page, in order. */
  readonly console: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #profile: string;
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, PromiseWithResolvers<Record<string, unknown>>>();
  #nextId = 0;
  #session = "";
  #closed = false;

  private constructor(child: Deno.ChildProcess, profile: string, ws: WebSocket) {
    this.#child = child;
    this.#profile = profile;
    this.#ws = ws;
    ws.onmessage = (e) => this.#receive(JSON.parse(e.data as string) as CdpMessage);
  }

  /** The browser's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /**
   * Starts Chromium and attaches to a new blank page.
   *
   * @param binary the Chromium binary
   * @returns the browser
   * @throws {Error} when it does not start or its DevTools endpoint does not answer within 20 s
   */
  static async launch(binary: string): Promise<HeadlessChromium> {
    const profile = await Deno.makeTempDir({ prefix: "busrt-chromium-" });
    const child = new Deno.Command(binary, {
      args: [...FLAGS, `--user-data-dir=${profile}`, "about:blank"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let endpoint: string;
    try {
      endpoint = await devtoolsEndpoint(child.stderr, 20_000);
    } catch (err) {
      await killTree(child);
      await Deno.remove(profile, { recursive: true }).catch(() => {});
      throw err;
    }
    const ws = new WebSocket(endpoint);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`Cannot reach Chromium's DevTools at ${endpoint}`));
    });
    const browser = new HeadlessChromium(child, profile, ws);
    try {
      const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" });
      const { sessionId } = await browser.send("Target.attachToTarget", { targetId, flatten: true });
      browser.#session = String(sessionId);
      await browser.send("Runtime.enable", {}, true);
      await browser.send("Page.enable", {}, true);
    } catch (err) {
      await browser.close();
      throw err;
    }
    return browser;
  }

  #receive(message: CdpMessage): void {
    if (message.id !== undefined) {
      const waiter = this.#pending.get(message.id);
      this.#pending.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(`DevTools: ${message.error.message}`));
      else waiter?.resolve(message.result ?? {});
      return;
    }
    const p = message.params ?? {};
    if (message.method === "Runtime.consoleAPICalled") {
      const args = (p.args as { value?: unknown; description?: string }[] | undefined) ?? [];
      this.console.push(`console.${p.type}: ${args.map((a) => a.value ?? a.description).join(" ")}`);
    } else if (message.method === "Runtime.exceptionThrown") {
      const details = p.exceptionDetails as
        | { text?: string; exception?: { description?: string } }
        | undefined;
      this.console.push(`exception: ${details?.exception?.description ?? details?.text}`);
    }
  }

  /**
   * Sends a DevTools command.
   *
   * @param method the command
   * @param params its parameters
   * @param onPage send it to the page (the attached session) rather than the browser
   * @returns the result
   */
  send(
    method: string,
    params: Record<string, unknown> = {},
    onPage = false,
  ): Promise<Record<string, unknown>> {
    const id = ++this.#nextId;
    const waiter = Promise.withResolvers<Record<string, unknown>>();
    this.#pending.set(id, waiter);
    const message: CdpMessage = { id, method, params };
    if (onPage) message.sessionId = this.#session;
    this.#ws.send(JSON.stringify(message));
    return waiter.promise;
  }

  /**
   * Loads `url` in the page.
   *
   * @param url the page
   */
  async open(url: string): Promise<void> {
    await this.send("Page.navigate", { url }, true);
  }

  /**
   * Saves a PNG screenshot of the page.
   *
   * @param path the file to write
   */
  async screenshot(path: string): Promise<void> {
    const { data } = await this.send("Page.captureScreenshot", { format: "png" }, true);
    const bytes = Uint8Array.from(atob(String(data)), (c) => c.charCodeAt(0));
    await Deno.writeFile(path, bytes);
  }

  /** Closes the browser (politely, then by PID with its child processes) and removes its profile. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const children = await descendants(this.#child.pid).catch(() => []);
    try {
      const bye = this.send("Browser.close").catch(() => ({}));
      await Promise.race([bye, new Promise((r) => setTimeout(r, 1000))]);
    } catch {
      // the socket is gone already
    }
    for (const w of this.#pending.values()) w.reject(new Error("Chromium closed"));
    this.#pending.clear();
    try {
      this.#ws.close();
    } catch {
      // closed
    }
    await killTree(this.#child, children);
    await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
  }
}

/** Waits up to 2 s for the browser to exit, then kills it and its child processes by PID. */
async function killTree(child: Deno.ChildProcess, known: number[] = []): Promise<void> {
  const children = [...new Set([...known, ...(await descendants(child.pid).catch(() => []))])];
  const exited = await Promise.race([
    child.status.then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), 2000)),
  ]);
  if (!exited) {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
  for (const pid of children) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // exited with the browser
    }
  }
  await child.stderr.cancel().catch(() => {});
  await child.status;
}

/** Reads Chromium's stderr until it names its DevTools WebSocket. */
async function devtoolsEndpoint(stderr: ReadableStream<Uint8Array>, ms: number): Promise<string> {
  const reader = stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Chromium did not start within ${ms} ms: ${text.slice(-500)}`)),
      ms,
    );
  });
  try {
    for (;;) {
      const { value, done } = await Promise.race([reader.read(), deadline]);
      if (done) throw new Error(`Chromium exited: ${text.slice(-500)}`);
      text += value;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (m !== null) return m[1];
    }
  } finally {
    clearTimeout(timer);
    // keep draining stderr so the browser never blocks on a full pipe
    (async () => {
      try {
        while (!(await reader.read()).done) { /* discard */ }
      } catch {
        // cancelled at close
      }
    })();
  }
}
