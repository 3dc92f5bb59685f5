/**
 * The broker's FIFO command channel (`busrt serve -B fifo:PATH`,
 * PROTOCOL.md §16.4): a named pipe whose lines are carried out by the
 * `.broker` client with QoS 0, so shell scripts can publish, notify, call
 * and send with `echo … > PATH`:
 *
 * | line                       | does                                                   |
 * | -------------------------- | ------------------------------------------------------ |
 * | `=TOPIC PAYLOAD`           | publishes `PAYLOAD` to `TOPIC`                         |
 * | `TARGET .TEXT`             | an RPC notification with the data `TEXT`               |
 * | `TARGET :METHOD k=v …`     | an RPC call0 of `METHOD` with the `k=v` params map     |
 * | `TARGET PAYLOAD`           | a message, or a broadcast when `TARGET` has `*` or `?` |
 *
 * Tokens are separated by single spaces; only the second token is the
 * payload. A bad line (a missing token, a token without `=`, an unknown
 * target) is logged (rate-limited) and the next line works as usual. It
 * lives in the RPC layer because notifications, calls and the `k=v` params
 * are RPC payloads; the pipe itself is `transport/fifo_reader.ts`.
 *
 * @example Publish through the pipe
 * ```ts
 * import assert from "node:assert/strict";
 * import { Broker, QoS } from "@busrt/busrt";
 * import { serveFifo } from "./fifo_channel.ts";
 * const dir = await Deno.makeTempDir();
 * const broker = new Broker();
 * const fifo = await serveFifo(broker, `${dir}/busrt.fifo`);
 * const app = broker.registerClient("app");
 * await app.subscribe("alarms/#", QoS.Processed);
 * await Deno.writeTextFile(`${dir}/busrt.fifo`, "=alarms/boiler overheat\n");
 * const { value } = await app[Symbol.asyncIterator]().next();
 * assert.equal(value?.topic, "alarms/boiler");
 * assert.equal(value?.sender, ".broker");
 * assert.equal(new TextDecoder().decode(value?.payload), "overheat");
 * await broker.close(); // closes the channel and removes the pipe
 * await fifo.done;
 * await Deno.remove(dir);
 * ```
 *
 * @module
 */
import type { Broker } from "../broker/broker.ts";
import type { InProcessClient } from "../broker/inprocess_client.ts";
import { QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import { encodeUtf8 } from "../protocol/text.ts";
import { WarningLimiter } from "../log/warning_limiter.ts";
import { openFifo } from "../transport/fifo_reader.ts";
import { encodeKeyValueParams } from "./key_value_params.ts";
import { encodeNotification, encodeRequest } from "./payload.ts";

/** A command parsed from one line. */
export type FifoCommand =
  | { kind: "publish"; topic: string; payload: string }
  | { kind: "notify"; target: string; data: string }
  | { kind: "call0"; target: string; method: string; params: Uint8Array }
  | { kind: "send"; target: string; payload: string }
  | { kind: "broadcast"; mask: string; payload: string };

/**
 * Parses one line as PROTOCOL.md §16.4 says.
 *
 * @example The four forms
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFifoLine } from "./fifo_channel.ts";
 * assert.deepEqual(parseFifoLine("=t/1 hi"), { kind: "publish", topic: "t/1", payload: "hi" });
 * assert.deepEqual(parseFifoLine("svc .ping"), { kind: "notify", target: "svc", data: "ping" });
 * assert.equal(parseFifoLine("svc :run x=1")?.kind, "call0");
 * assert.equal(parseFifoLine("  "), null);
 * assert.deepEqual(parseFifoLine("app.* hello"), { kind: "broadcast", mask: "app.*", payload: "hello" });
 * assert.throws(() => parseFifoLine("svc"), SyntaxError);
 * ```
 *
 * @param line one line, without its newline
 * @returns the command, or null for an empty line
 * @throws {SyntaxError} for a line missing its second token, or `k=v` params without `=`
 */
export function parseFifoLine(line: string): FifoCommand | null {
  const text = line.trim();
  if (text === "") return null;
  const tokens = text.split(" ");
  const first = tokens[0];
  const second = tokens[1];
  if (second === undefined) throw new SyntaxError(`Invalid FIFO line "${line}": expected a second token`);
  if (first.startsWith("=")) return { kind: "publish", topic: first.slice(1), payload: second };
  if (second.startsWith(".")) return { kind: "notify", target: first, data: second.slice(1) };
  if (second.startsWith(":")) {
    return {
      kind: "call0",
      target: first,
      method: second.slice(1),
      params: encodeKeyValueParams(tokens.slice(2)),
    };
  }
  if (first.includes("*") || first.includes("?")) return { kind: "broadcast", mask: first, payload: second };
  return { kind: "send", target: first, payload: second };
}

/** Options of {@linkcode serveFifo}. */
export interface FifoChannelOptions {
  /** Mode of the pipe. Default `0o622`. */
  mode?: number;
}

/** A running FIFO channel. */
export interface FifoChannel {
  /** The pipe's path. */
  readonly path: string;
  /** Lines carried out. */
  readonly executed: number;
  /** Lines refused (logged). */
  readonly failed: number;
  /** Resolves when the channel has stopped (after `close()` or the broker's close). */
  readonly done: Promise<void>;
  /** Stops reading and removes the pipe. */
  close(): void;
}

/**
 * Creates the pipe `path` (mode 0622, replacing a file there, refusing a
 * directory) and carries out its lines as the `.broker` client until
 * `close()` or until the broker closes.
 *
 * @param broker the broker whose `.broker` client runs the commands
 * @param path where to create the pipe
 * @param options the pipe's mode
 * @returns the running channel
 * @throws {Deno.errors.IsADirectory} when `path` is a directory
 * @throws {Deno.errors.NotCapable} without `--allow-run=mkfifo` and read/write permission on `path`
 */
export async function serveFifo(
  broker: Broker,
  path: string,
  options: FifoChannelOptions = {},
): Promise<FifoChannel> {
  const core = broker.registerCoreClient();
  const warnings = new WarningLimiter(broker.log);
  const fifo = await openFifo(path, {
    mode: options.mode,
    onLongLine: (bytes) => warnings.warn("fifo long line", `FIFO ${path}: a ${bytes}-byte line was dropped`),
  });
  let executed = 0;
  let failed = 0;
  const done = (async () => {
    try {
      for await (const line of fifo.lines()) {
        try {
          const command = parseFifoLine(line);
          if (command === null) continue;
          execute(core, command);
          executed++;
        } catch (err) {
          failed++;
          const why = err instanceof BusError && err.isNotRegistered()
            ? "the target is not registered"
            : err instanceof Error
            ? err.message
            : String(err);
          warnings.warn("fifo bad line", `FIFO ${path}: line "${line.slice(0, 200)}" refused: ${why}`);
        }
      }
    } catch (err) {
      broker.log.error(`FIFO ${path} failed: ${err instanceof Error ? err.message : err}`);
    } finally {
      fifo.close();
      warnings.flush();
    }
  })();
  core.closed.then(() => fifo.close());
  broker.log.info(`listening on fifo:${path}`);
  return {
    path,
    get executed() {
      return executed;
    },
    get failed() {
      return failed;
    },
    done,
    close: () => fifo.close(),
  };
}

function execute(core: InProcessClient, c: FifoCommand): void {
  switch (c.kind) {
    case "publish":
      core.publish(c.topic, c.payload, QoS.No);
      return;
    case "notify":
      core.send(c.target, encodeNotification(encodeUtf8(c.data)), QoS.No);
      return;
    case "call0":
      core.send(c.target, encodeRequest(0, encodeUtf8(c.method), c.params), QoS.No);
      return;
    case "broadcast":
      core.broadcast(c.mask, c.payload, QoS.No);
      return;
    case "send":
      core.send(c.target, c.payload, QoS.No);
  }
}
