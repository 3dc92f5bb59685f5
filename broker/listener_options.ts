/**
 * Per-listener settings and their defaults.
 *
 * @module
 */
import {
  DEFAULT_BUF_SIZE,
  DEFAULT_BUF_TTL,
  DEFAULT_PAYLOAD_LIMIT,
  DEFAULT_TIMEOUT,
} from "../protocol/constants.ts";
import type { AccessPolicy } from "./access_policy.ts";

/** Default of {@linkcode ListenerOptions.topicLimit}: subscriptions (and, apart, exclusions) per client. */
export const DEFAULT_TOPIC_LIMIT = 65536;

/** Default of {@linkcode ListenerOptions.queueBytes}: 64 MiB per client. */
export const DEFAULT_QUEUE_BYTES: number = 64 * 1024 * 1024;

/** Settings of one listener. */
export interface ListenerOptions {
  /** Read/write buffer size in bytes. Default 8192. */
  bufSize?: number;
  /** Delayed-flush time in microseconds; below 1000 frames are flushed once per microtask. Default 10. */
  bufTtl?: number;
  /**
   * Timeout in seconds: each handshake step, frame bodies, socket writes;
   * keepalive NOPs every `timeout/2`; silent clients dropped after 1.25 × `timeout`. Default 1.
   */
  timeout?: number;
  /** Per-client queue size in frames. Default: the broker's. */
  queueSize?: number;
  /**
   * Per-client queue size in bytes: a client whose outgoing queue would hold
   * more is dropped, as for a full queue of frames. A queue always takes one
   * frame when empty. Default 64 MiB.
   */
  queueBytes?: number;
  /**
   * Subscriptions one client may hold, and exclusions likewise: topics of a
   * SUBSCRIBE or EXCLUDE beyond it are not applied and the frame is answered
   * 0x74. Default 65536.
   */
  topicLimit?: number;
  /** Largest accepted frame body in bytes, or `null` for none. Default 64 MiB. */
  payloadLimit?: number | null;
  /** Access policy (AAA); absent: no checks. */
  policy?: AccessPolicy | null;
  /** Mode of a unix socket file, e.g. `0o660`. Default: by umask. */
  socketMode?: number;
}

/** A {@linkcode ListenerOptions} with every default applied: the settings a running listener uses. */
export interface ResolvedListenerOptions {
  /** Read/write buffer size in bytes. */
  bufSize: number;
  /** Delayed-flush time in microseconds. */
  bufTtl: number;
  /** Timeout in seconds. */
  timeout: number;
  /** Per-client queue size in frames. */
  queueSize: number;
  /** Per-client queue size in bytes. */
  queueBytes: number;
  /** Subscriptions, and exclusions, per client. */
  topicLimit: number;
  /** Largest accepted frame body in bytes. */
  payloadLimit: number;
  /** Access policy, or null. */
  policy: AccessPolicy | null;
  /** Unix socket file mode, or null. */
  socketMode: number | null;
}

/**
 * Applies defaults and validates ranges. @internal
 *
 * @param config the listener settings
 * @param brokerQueueSize the broker's queue size, the default of `queueSize`
 * @returns the settings with every default applied
 */
export function resolveListenerOptions(
  config: ListenerOptions,
  brokerQueueSize: number,
): ResolvedListenerOptions {
  const c: ResolvedListenerOptions = {
    bufSize: config.bufSize ?? DEFAULT_BUF_SIZE,
    bufTtl: config.bufTtl ?? DEFAULT_BUF_TTL,
    timeout: config.timeout ?? DEFAULT_TIMEOUT,
    queueSize: config.queueSize ?? brokerQueueSize,
    queueBytes: config.queueBytes ?? DEFAULT_QUEUE_BYTES,
    topicLimit: config.topicLimit ?? DEFAULT_TOPIC_LIMIT,
    payloadLimit: config.payloadLimit === null ? 0xffffffff : config.payloadLimit ?? DEFAULT_PAYLOAD_LIMIT,
    policy: config.policy ?? null,
    socketMode: config.socketMode ?? null,
  };
  positive("bufSize", c.bufSize);
  positive("timeout", c.timeout);
  positive("queueSize", c.queueSize);
  positive("queueBytes", c.queueBytes);
  positive("topicLimit", c.topicLimit);
  positive("payloadLimit", c.payloadLimit);
  if (!(c.bufTtl >= 0)) throw new RangeError(`Invalid bufTtl "${c.bufTtl}": must be zero or more`);
  if (
    c.socketMode !== null && !(Number.isInteger(c.socketMode) && c.socketMode >= 0 && c.socketMode <= 0o777)
  ) {
    throw new RangeError(`Invalid socketMode "${c.socketMode}": must be 0 to 0o777`);
  }
  return c;
}

function positive(name: string, v: number): void {
  if (!(typeof v === "number" && v > 0 && Number.isFinite(v))) {
    throw new RangeError(`Invalid ${name} "${v}": must be a positive number`);
  }
}
