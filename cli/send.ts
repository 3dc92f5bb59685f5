/**
 * `busrt send`, `busrt broadcast` and `busrt publish`: one frame with QoS 1,
 * waiting for the broker's acknowledgement.
 *
 * @module
 */
import type { IpcClient } from "../client/ipc_client.ts";
import { QoS } from "../protocol/constants.ts";
import type { RawGlobals } from "./args.ts";
import { GLOBAL_HELP, prepareCommand } from "./command.ts";
import { openClient, operationFailure, withDeadline } from "./connection.ts";
import { payloadArgument, printOk } from "./output.ts";

const PAYLOAD_HELP = `PAYLOAD is sent as UTF-8 text; without it (or with "-") all of stdin is sent
as raw bytes. Prints OK once the broker acknowledged the frame (QoS 1).`;

/** Help of `busrt send`. */
export const SEND_HELP: string = `Usage: busrt send <TARGET> [PAYLOAD] [options]

Sends a direct message to the client named TARGET. A TARGET containing * or ?
is a name mask: the message is broadcast, as "busrt broadcast" does.

${PAYLOAD_HELP}

${GLOBAL_HELP}`;

/** Help of `busrt broadcast`. */
export const BROADCAST_HELP: string = `Usage: busrt broadcast <MASK> [PAYLOAD] [options]

Broadcasts to every client whose name matches MASK (segments split by ".";
? matches one segment, * the rest), including this one.

${PAYLOAD_HELP}

${GLOBAL_HELP}`;

/** Help of `busrt publish`. */
export const PUBLISH_HELP: string = `Usage: busrt publish <TOPIC> [PAYLOAD] [options]

Publishes to TOPIC; subscribers whose patterns match receive it.

${PAYLOAD_HELP}

${GLOBAL_HELP}`;

type Op = "send" | "broadcast" | "publish";

async function deliver(op: Op, args: string[], base: RawGlobals, help: string): Promise<number> {
  const cmd = prepareCommand(
    op,
    help,
    args,
    base,
    {},
    op === "publish" ? "<TOPIC> [PAYLOAD]" : "<TARGET> [PAYLOAD]",
  );
  if (cmd === null) return 0;
  const [target, payloadText] = cmd.positionals;
  const payload = await payloadArgument(payloadText);
  const { globals } = cmd;
  const kind: Op = op === "send" && (target.includes("*") || target.includes("?")) ? "broadcast" : op;
  const client = await openClient(globals);
  try {
    const action = kind === "publish" ? `publish to "${target}"` : `${kind} to "${target}"`;
    await withDeadline(sendOne(client, kind, target, payload), globals.timeout, `Cannot ${action}`)
      .catch((err) => Promise.reject(operationFailure(err, action)));
  } finally {
    await client.close();
  }
  printOk(globals, cmd.style);
  return 0;
}

// async: a frame refused at once (over --payload-limit) becomes a rejection, reported as the others
async function sendOne(client: IpcClient, kind: Op, target: string, payload: Uint8Array): Promise<void> {
  switch (kind) {
    case "send":
      return await client.send(target, payload, QoS.Processed);
    case "broadcast":
      return await client.broadcast(target, payload, QoS.Processed);
    case "publish":
      return await client.publish(target, payload, QoS.Processed);
  }
}

/**
 * Runs `busrt send`.
 *
 * @param args the arguments after the command name
 * @param base the global options given before the command name
 * @returns the exit status
 */
export function runSend(args: string[], base: RawGlobals): Promise<number> {
  return deliver("send", args, base, SEND_HELP);
}

/**
 * Runs `busrt broadcast`.
 *
 * @param args the arguments after the command name
 * @param base the global options given before the command name
 * @returns the exit status
 */
export function runBroadcast(args: string[], base: RawGlobals): Promise<number> {
  return deliver("broadcast", args, base, BROADCAST_HELP);
}

/**
 * Runs `busrt publish`.
 *
 * @param args the arguments after the command name
 * @param base the global options given before the command name
 * @returns the exit status
 */
export function runPublish(args: string[], base: RawGlobals): Promise<number> {
  return deliver("publish", args, base, PUBLISH_HELP);
}
