/**
 * Writing to stdout and stderr, and reading stdin, for the CLI commands.
 *
 * @module
 */
import type { GlobalOptions } from "./args.ts";
import { stringifyJson } from "./render.ts";
import type { Style } from "./style.ts";

const encoder = new TextEncoder();

function writeAllSync(file: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

/**
 * Writes a line to stdout at once (no buffering: pipes see it immediately).
 *
 * @param text the line, without its newline
 */
export function printLine(text: string): void {
  writeAllSync(Deno.stdout, encoder.encode(`${text}\n`));
}

/**
 * Writes text to stdout without a newline.
 *
 * @param text the text
 */
export function printText(text: string): void {
  writeAllSync(Deno.stdout, encoder.encode(text));
}

/**
 * Writes a line to stderr.
 *
 * @param text the line, without its newline
 */
export function printErrorLine(text: string): void {
  writeAllSync(Deno.stderr, encoder.encode(`${text}\n`));
}

/**
 * Writes text to stderr without a newline (progress bars).
 *
 * @param text the text
 */
export function printErrorText(text: string): void {
  writeAllSync(Deno.stderr, encoder.encode(text));
}

/**
 * Writes a value as one line of compact JSON to stdout.
 *
 * @param value the value
 */
export function printJson(value: unknown): void {
  printLine(stringifyJson(value, false));
}

/**
 * Reads all of stdin. On a terminal, says how to finish first (on stderr),
 * as the reference does.
 */
export async function readStdin(): Promise<Uint8Array> {
  if (Deno.stdin.isTerminal()) printErrorLine("Reading stdin, Ctrl-D to finish...");
  return await new Response(Deno.stdin.readable).bytes();
}

/**
 * Runs `onStop` on the first SIGINT or SIGTERM. Returns a function that
 * removes the handlers.
 *
 * @param onStop called with the signal received
 * @returns a function that removes the handlers
 */
export function onStopSignal(onStop: (signal: Deno.Signal) => void): () => void {
  const handlers: [Deno.Signal, () => void][] = [];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const handler = () => onStop(signal);
    try {
      Deno.addSignalListener(signal, handler);
      handlers.push([signal, handler]);
    } catch {
      // SIGTERM is not available on every platform
    }
  }
  return () => {
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
  };
}

/**
 * Reads the payload argument, or stdin when it is absent or "-".
 *
 * @param text the PAYLOAD argument, if given
 * @returns the payload bytes
 */
export async function payloadArgument(text: string | undefined): Promise<Uint8Array> {
  if (text === undefined || text === "-") return await readStdin();
  return new TextEncoder().encode(text);
}

/**
 * Prints the success of a one-shot command: `OK`, or `{"ok":true}` with `--json`.
 *
 * @param globals the global options (`--json`)
 * @param style the styling of `OK`
 */
export function printOk(globals: GlobalOptions, style: Style): void {
  if (globals.json) printJson({ ok: true });
  else printLine(style.green("OK"));
}
