/**
 * The npm clients of the peer servers, pinned here so that the library's
 * deno.json carries no bench-only dependency.
 *
 * @module
 */
export { connect, type NatsConnection } from "npm:nats@2.29.3";
export { Redis, type RedisOptions } from "npm:ioredis@6.0.0";
export { default as mqtt, type IClientOptions, type MqttClient } from "npm:mqtt@5.16.0";
