/**
 * mosquitto reached through the `mqtt` npm client (MQTT.js), QoS 0.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { type IClientOptions, mqtt, type MqttClient } from "./peer_clients.ts";
import { BufferView } from "./buffer_view.ts";
import { emulatedRequestReply } from "./emulated_request_reply.ts";
import type { BenchConnection, Requester, Target, Transport } from "./target.ts";

/** Where mosquitto listens. */
export type MqttAddress = { transport: "tcp"; port: number } | { transport: "unix"; path: string };

class MqttBenchConnection implements BenchConnection {
  readonly inbox: string;
  readonly #client: MqttClient;
  #handler: (payload: Uint8Array) => void = () => {};
  readonly #view = new BufferView();

  constructor(client: MqttClient, name: string) {
    this.#client = client;
    this.inbox = `in/${name}`;
    client.on("message", (_topic: string, payload: Buffer) => this.#handler(payload));
  }

  send(inbox: string, payload: Uint8Array): void {
    this.#client.publish(inbox, this.#view.of(payload), { qos: 0 });
  }

  publish(topic: string, payload: Uint8Array): void {
    this.#client.publish(topic, this.#view.of(payload), { qos: 0 });
  }

  listen(): Promise<void> {
    return this.subscribe(this.inbox);
  }

  async subscribe(topic: string): Promise<void> {
    await this.#client.subscribeAsync(topic, { qos: 0 }); // resolves on SUBACK
  }

  flush(): Promise<void> {
    return Promise.resolve(); // MQTT.js writes each packet to the socket stream
  }

  onMessage(handler: (payload: Uint8Array) => void): void {
    this.#handler = handler;
  }

  async close(): Promise<void> {
    await this.#client.endAsync();
  }
}

/**
 * A target for mosquitto.
 *
 * @example
 * ```ts ignore
 * const t = mqttTarget({ transport: "tcp", port: 1883 }, pid);
 * ```
 */
export function mqttTarget(address: MqttAddress, pid: number): Target {
  const transport: Transport = address.transport;
  const base: IClientOptions = {
    ...(address.transport === "tcp"
      ? { protocol: "mqtt", host: "127.0.0.1", port: address.port }
      : { protocol: "mqtt", unixSocket: true, path: address.path }),
    clean: true,
    reconnectPeriod: 0,
    keepalive: 60,
  };
  const dial = (name: string): Promise<MqttClient> => mqtt.connectAsync({ ...base, clientId: name });
  const open = async (name: string): Promise<BenchConnection> =>
    new MqttBenchConnection(await dial(name), name);
  return {
    id: `mqtt-${transport}`,
    label: `mosquitto (${transport})`,
    family: "mqtt",
    transport,
    pid,
    supportsTopics: true,
    requestReplyMethod: "QoS 0 publish with a 4-byte correlation id, echoed to the requester's topic",
    open,
    async openRequestReply(name: string, payloadSize: number): Promise<Requester> {
      return await emulatedRequestReply(await open(`${name}.rq`), await open(`${name}.rs`), payloadSize);
    },
    async connectOnce(name: string): Promise<void> {
      const client = await dial(name); // CONNECT / CONNACK
      await client.endAsync();
    },
  };
}
