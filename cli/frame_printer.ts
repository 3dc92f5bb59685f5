/**
 * How `listen` and `rpc listen` show what arrives: a block per frame for
 * people, one JSON object per line with `--json`.
 *
 * @module
 */
import { Op } from "../protocol/constants.ts";
import type { Frame } from "../protocol/frame.ts";
import { primaryName } from "../protocol/names.ts";
import { printJson, printLine } from "./output.ts";
import { decodePayload, renderPayload } from "./render.ts";
import type { Style } from "./style.ts";

/** Kinds of things `listen` and `rpc listen` print. */
export type EventKind = "message" | "broadcast" | "publish" | "notification" | "call";

/** Something received, ready to be printed. */
export interface ReceivedEvent {
  /** What it is. */
  kind: EventKind;
  /** Full sender name. */
  sender: string;
  /** Topic of a publication, else null. */
  topic: string | null;
  /** RPC method of a call (text, or `HEX: …` when not UTF-8), else null. */
  method: string | null;
  /** Payload (RPC: params or notification data). */
  payload: Uint8Array;
  /** Whether it was sent with a realtime QoS. */
  realtime: boolean;
}

const KIND_TITLES: Record<EventKind, string> = {
  message: "Message",
  broadcast: "Broadcast",
  publish: "Publish",
  notification: "Notification",
  call: "Call",
};

/**
 * Converts a data frame to a printable event.
 *
 * @param frame the frame
 * @returns the event
 */
export function frameEvent(frame: Frame): ReceivedEvent {
  const kind: EventKind = frame.kind === Op.Message
    ? "message"
    : frame.kind === Op.Broadcast
    ? "broadcast"
    : "publish";
  return {
    kind,
    sender: frame.sender,
    topic: frame.topic,
    method: null,
    payload: frame.payload,
    realtime: frame.realtime,
  };
}

/**
 * Prints one event. Text: a header line (local time, kind, sender and its
 * primary), `topic:` / `method:` lines, the payload rendering, `----`.
 * JSON: one object per line with the decoded payload.
 *
 * @param event the event
 * @param json whether to print one JSON object instead of text
 * @param style the styling of the text form
 * @param now the time shown
 */
export function printEvent(event: ReceivedEvent, json: boolean, style: Style, now: Date = new Date()): void {
  const time = localTimestamp(now);
  if (json) {
    const decoded = decodePayload(event.payload);
    printJson({
      time,
      kind: event.kind,
      sender: event.sender,
      primary: primaryName(event.sender),
      topic: event.topic,
      method: event.method,
      realtime: event.realtime,
      size: event.payload.length,
      format: decoded.format,
      payload: decoded.value,
    });
    return;
  }
  const lines = [
    `${style.dim(time)} ${style.yellow(KIND_TITLES[event.kind])} from ${style.bold(event.sender)} (${
      primaryName(event.sender)
    })`,
  ];
  if (event.topic !== null) lines.push(`topic: ${style.magenta(event.topic)}`);
  if (event.method !== null) lines.push(`method: ${style.blue(style.bold(event.method))}`);
  lines.push(renderPayload(event.payload, style), style.dim("----"));
  printLine(lines.join("\n"));
}

/**
 * RFC 3339 local time with milliseconds and the UTC offset.
 *
 * @example The shape of a timestamp
 * ```ts
 * import assert from "node:assert/strict";
 * import { localTimestamp } from "./frame_printer.ts";
 * assert.match(localTimestamp(new Date()), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}([+-]\d\d:\d\d|Z)$/);
 * ```
 *
 * @param d the time
 * @returns the RFC 3339 text
 */
export function localTimestamp(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const offset = -d.getTimezoneOffset();
  const zone = offset === 0
    ? "Z"
    : `${offset > 0 ? "+" : "-"}${p(Math.floor(Math.abs(offset) / 60))}:${p(Math.abs(offset) % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${
    p(d.getMinutes())
  }:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}${zone}`;
}
