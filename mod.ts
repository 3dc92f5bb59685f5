/**
 * BUS/RT for Deno: a fast local IPC bus, wire-compatible with BUS/RT protocol v1.
 *
 * @example Broker and two in-process clients
 * ```ts
 * import { Broker, QoS } from "./mod.ts";
 * const broker = new Broker();
 * const a = broker.registerClient("a");
 * const b = broker.registerClient("b");
 * await b.subscribe("news/#", QoS.Processed);
 * a.publish("news/today", "hello");
 * for await (const frame of b) {
 *   console.log(frame.topic, new TextDecoder().decode(frame.payload));
 *   break;
 * }
 * await broker.close();
 * ```
 *
 * @module
 */
export * from "./protocol/mod.ts";
export * from "./broker/mod.ts";
export * from "./client/mod.ts";
export * from "./rpc/mod.ts";
