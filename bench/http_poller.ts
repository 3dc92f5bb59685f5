/**
 * A Web Worker for `bench/http_monitor_bench.ts`: polls every route of an
 * HTTP monitoring endpoint every `everyMs` on its own thread (so that the
 * polling does not slow the load generator's event loop), until told to
 * stop; then posts the number of requests it made.
 *
 * Messages in: `{ base, everyMs }` to start, `"stop"` to stop. Out: the count.
 *
 * @module
 */

/** The routes polled, in order. */
export const POLLED_ROUTES: readonly string[] = [
  "/healthz",
  "/api/stats",
  "/api/clients",
  "/api/subscriptions",
  "/metrics",
];

interface WorkerScope {
  onmessage: ((e: MessageEvent<{ base: string; everyMs: number } | "stop">) => void) | null;
  postMessage(value: unknown): void;
}

if (import.meta.main && typeof (globalThis as { document?: unknown }).document === "undefined") {
  const scope = globalThis as unknown as WorkerScope;
  let running = false;
  let requests = 0;
  let wake: (() => void) | null = null;
  let done: Promise<void> = Promise.resolve();
  scope.onmessage = (e) => {
    if (e.data === "stop") {
      running = false;
      wake?.();
      done.then(() => scope.postMessage(requests));
      return;
    }
    const { base, everyMs } = e.data;
    running = true;
    done = (async () => {
      while (running) {
        for (const route of POLLED_ROUTES) {
          const res = await fetch(`${base}${route}`);
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`${route}: HTTP ${res.status}`);
          requests++;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, everyMs);
        });
      }
    })();
  };
}
