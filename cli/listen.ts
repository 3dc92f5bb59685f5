/**
 * `busrt listen`: subscribe and print every frame that arrives until
 * interrupted or disconnected.
 *
 * @module
 */
import { QoS } from "../protocol/constants.ts";
import type { RawGlobals } from "./args.ts";
import { GLOBAL_HELP, prepareCommand } from "./command.ts";
import { openClient, operationFailure, withDeadline } from "./connection.ts";
import { CliError } from "./errors.ts";
import { frameEvent, printEvent } from "./frame_printer.ts";
import { onStopSignal, printErrorLine, printLine } from "./output.ts";

/** Help of `busrt listen`. */
export const LISTEN_HELP: string = `Usage: busrt listen [-t TOPIC]... [--exclude TOPIC]... [options]

Prints every message, broadcast and publication this client receives, until
Ctrl-C (exit 0) or until the broker closes the connection (exit 1).

Options:
  -t, --topics <TOPIC>  subscribe to a topic pattern (repeatable; + one level, # the rest)
      --exclude <TOPIC> exclude a topic pattern from the publications received (repeatable)

Each frame is shown with its local time, kind, sender (and primary sender),
topic, and the payload as STR (text), JSON (a JSON object in text),
MSGPACK (decoded MessagePack) or HEX (first 256 bytes). With --json, one
object per line: {time, kind, sender, primary, topic, method, realtime,
size, format, payload}.

${GLOBAL_HELP}`;

const OPTIONS = {
  topics: { type: "string", short: "t", multiple: true },
  exclude: { type: "string", multiple: true },
} as const;

/**
 * Runs `busrt listen`.
 *
 * @param args the arguments after the command name
 * @param base the global options given before the command name
 * @returns the exit status
 */
export async function runListen(args: string[], base: RawGlobals): Promise<number> {
  const cmd = prepareCommand("listen", LISTEN_HELP, args, base, OPTIONS);
  if (cmd === null) return 0;
  const { globals, style } = cmd;
  const topics = cmd.values.topics ?? [];
  const excludes = cmd.values.exclude ?? [];
  const client = await openClient(globals);
  let stopped = false;
  const removeSignals = onStopSignal(() => {
    stopped = true;
    client.close();
  });
  try {
    // The reference sends both frames even when empty (subscribing the
    // topic ""); only non-empty lists are sent here.
    if (excludes.length > 0) {
      await withDeadline(client.exclude(excludes, QoS.Processed), globals.timeout, "Exclude")
        .catch((err) => Promise.reject(operationFailure(err, "exclude topics")));
    }
    if (topics.length > 0) {
      await withDeadline(client.subscribe(topics, QoS.Processed), globals.timeout, "Subscribe")
        .catch((err) => Promise.reject(operationFailure(err, "subscribe")));
    }
    const banner = `Listening to messages for ${globals.name} ...`;
    if (globals.json) printErrorLine(banner);
    else printLine(`${style.dim("----")}\n${style.cyan(banner)}`);
    for await (const frame of client) printEvent(frameEvent(frame), globals.json, style);
  } finally {
    removeSignals();
    await client.close();
  }
  if (stopped) return 0;
  const reason = client.closeReason?.message ?? "connection closed";
  throw new CliError(`Disconnected: ${reason}`);
}
