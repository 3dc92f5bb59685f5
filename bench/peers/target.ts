/**
 * What the load generator drives: a broker (ours, the relay or a peer) over
 * one transport, reached through that broker's usual client library.
 *
 * @module
 */

/** How a target is reached. */
export type Transport = "unix" | "tcp";

/** Which server a target is. */
export type Family = "busrt" | "busrtd" | "relay" | "nats" | "redis" | "mqtt";

/**
 * One client connection of the load generator, in the terms every target
 * shares: an inbox (a name or topic only this connection receives), topics,
 * and one handler for all incoming payloads.
 */
export interface BenchConnection {
  /** Address whose messages reach this connection (ours: its name; peers: a topic). */
  readonly inbox: string;
  /** Queues one message to another connection's inbox. */
  send(inbox: string, payload: Uint8Array): void;
  /** Queues one publication on a topic. */
  publish(topic: string, payload: Uint8Array): void;
  /** Starts receiving on the inbox; resolves once the server routes to it. */
  listen(): Promise<void>;
  /** Subscribes to a topic; resolves once the server routes to it. */
  subscribe(topic: string): Promise<void>;
  /** Resolves when what was queued has been handed to the socket (back-pressure point). */
  flush(): Promise<void>;
  /** Sets the handler of every incoming payload (replacing the previous one). */
  onMessage(handler: (payload: Uint8Array) => void): void;
  /** Closes the connection. */
  close(): Promise<void>;
}

/** One side of a request/reply pair: sends a request, resolves on its reply. */
export interface Requester {
  /** Sends one request and resolves when the reply has arrived. */
  request(): Promise<void>;
  /** Closes the requester and its responder. */
  close(): Promise<void>;
}

/** A running server plus the client side to reach it. */
export interface Target {
  /** Short stable id, e.g. `busrt-unix`. */
  readonly id: string;
  /** Label for tables and charts, e.g. `busrt (unix)`. */
  readonly label: string;
  /** Which server. */
  readonly family: Family;
  /** How it is reached. */
  readonly transport: Transport;
  /** PID of the server process (CPU and memory are read from it). */
  readonly pid: number;
  /** Whether publish/subscribe works (the relay only forwards direct messages). */
  readonly supportsTopics: boolean;
  /** How request/reply is done, for the method notes. */
  readonly requestReplyMethod: string;
  /** Opens one connection. */
  open(name: string): Promise<BenchConnection>;
  /** Opens a requester and an echoing responder for `payloadSize`-byte requests. */
  openRequestReply(name: string, payloadSize: number): Promise<Requester>;
  /** Connects, completes the handshake and closes once. */
  connectOnce(name: string): Promise<void>;
}
