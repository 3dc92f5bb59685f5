/**
 * The stop signals of `busrt serve`: SIGINT, SIGTERM and SIGHUP start one
 * clean shutdown. A stop signal within {@linkcode REPEAT_WINDOW_MS} of the
 * first is the same request delivered twice (Ctrl-C under `deno task`
 * reaches the broker from the terminal and from the task runner about 1 ms
 * apart) and is ignored; one after the window asks to give up on the clean
 * shutdown. The handlers stay installed until {@linkcode StopSignals.close},
 * which the caller does once shutdown has completed, so no signal can take
 * the default action (death without cleanup) half-way through it.
 *
 * @module
 */

/** The signals that stop the broker. SIGHUP (terminal closed) stops it cleanly too; it does not reload. */
export const STOP_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];

/** How long after the first stop signal another one counts as the same request, in milliseconds. */
export const REPEAT_WINDOW_MS = 500;

/** Callbacks and timing of {@linkcode StopSignals}. */
export interface StopSignalOptions {
  /** Called once, with the first stop signal. */
  onStop: (signal: Deno.Signal) => void;
  /** Called for a stop signal after the repeat window: the user insists (e.g. shutdown hangs). */
  onInsist?: (signal: Deno.Signal) => void;
  /** The repeat window in milliseconds. Default {@linkcode REPEAT_WINDOW_MS}. */
  repeatWindowMs?: number;
  /** The signals to handle. Default {@linkcode STOP_SIGNALS}. */
  signals?: readonly Deno.Signal[];
}

/**
 * Handlers of the stop signals, installed at construction and kept until
 * {@linkcode StopSignals.close}.
 *
 * @example One request, however many times it is delivered at once
 * ```ts
 * import assert from "node:assert/strict";
 * import { StopSignals } from "./stop_signals.ts";
 * const seen: Deno.Signal[] = [];
 * const stops = new StopSignals({ onStop: (s) => seen.push(s), onInsist: () => seen.push("SIGKILL") });
 * stops.receive("SIGINT");
 * stops.receive("SIGINT"); // the same Ctrl-C, delivered twice
 * assert.deepEqual(seen, ["SIGINT"]);
 * assert.equal(stops.signal, "SIGINT");
 * stops.close();
 * ```
 */
export class StopSignals {
  readonly #options: StopSignalOptions;
  readonly #installed: [Deno.Signal, () => void][] = [];
  #first: Deno.Signal | null = null;
  #firstAt = 0;

  /**
   * Installs the handlers.
   *
   * @param options what to call on the first signal and on an insisting one
   */
  constructor(options: StopSignalOptions) {
    this.#options = options;
    for (const signal of options.signals ?? STOP_SIGNALS) {
      const handler = () => this.receive(signal);
      try {
        Deno.addSignalListener(signal, handler);
        this.#installed.push([signal, handler]);
      } catch {
        // SIGTERM and SIGHUP are not available on every platform
      }
    }
  }

  /** The first stop signal received, or `null`. */
  get signal(): Deno.Signal | null {
    return this.#first;
  }

  /**
   * Handles one delivery of a stop signal (what the installed handlers call).
   *
   * @param signal the signal delivered
   */
  receive(signal: Deno.Signal): void {
    const now = performance.now();
    if (this.#first === null) {
      this.#first = signal;
      this.#firstAt = now;
      this.#options.onStop(signal);
      return;
    }
    if (now - this.#firstAt < (this.#options.repeatWindowMs ?? REPEAT_WINDOW_MS)) return;
    this.#options.onInsist?.(signal);
  }

  /** Removes the handlers: call it once shutdown has completed. */
  close(): void {
    for (const [signal, handler] of this.#installed.splice(0)) Deno.removeSignalListener(signal, handler);
  }
}
