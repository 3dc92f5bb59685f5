/**
 * A child process holding many idle client connections to one server, each
 * opened with that server's minimal handshake over a raw socket (so the
 * client side stays light). Prints `connected <n>` once all are up and keeps
 * them (answering keepalives) until SIGTERM.
 *
 * Run: deno run -A bench/peers/idle_clients.ts <busrt|nats|redis|mqtt> <path|host:port> <count> <prefix>
 *
 * @module
 */
import { parseAddress } from "../../transport/address.ts";

type Kind = "busrt" | "nats" | "redis" | "mqtt";

const CONCURRENCY = 64;
const PING_EVERY_MS = 2000;
const encoder = new TextEncoder();

async function readAtLeast(conn: Deno.Conn, buf: Uint8Array, n: number): Promise<number> {
  let got = 0;
  while (got < n) {
    const r = await conn.read(buf.subarray(got));
    if (r === null) throw new Error("closed during the handshake");
    got += r;
  }
  return got;
}

async function readByte(conn: Deno.Conn): Promise<number> {
  const b = new Uint8Array(1);
  await readAtLeast(conn, b, 1);
  return b[0];
}

async function readUntil(conn: Deno.Conn, text: string): Promise<void> {
  const buf = new Uint8Array(4096);
  let seen = "";
  while (!seen.includes(text)) {
    const r = await conn.read(buf);
    if (r === null) throw new Error("closed during the handshake");
    seen += new TextDecoder().decode(buf.subarray(0, r));
  }
}

function mqttConnectPacket(clientId: string): Uint8Array {
  const id = encoder.encode(clientId);
  const variable = [0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 120]; // "MQTT" v3.1.1, clean, keepalive 120 s
  const remaining = variable.length + 2 + id.length;
  return new Uint8Array([0x10, remaining, ...variable, id.length >> 8, id.length & 0xff, ...id]);
}

async function handshake(kind: Kind, conn: Deno.Conn, name: string): Promise<void> {
  const buf = new Uint8Array(8);
  switch (kind) {
    case "busrt": {
      await readAtLeast(conn, buf, 3);
      await conn.write(buf.slice(0, 3));
      const greeting = await readByte(conn);
      if (greeting !== 1) throw new Error(`greeting refused with 0x${greeting.toString(16)}`);
      const nameBytes = encoder.encode(name);
      await conn.write(new Uint8Array([nameBytes.length & 0xff, nameBytes.length >> 8, ...nameBytes]));
      const registration = await readByte(conn);
      if (registration !== 1) throw new Error(`registration refused with 0x${registration.toString(16)}`);
      return;
    }
    case "nats":
      await readUntil(conn, "\r\n"); // INFO
      await conn.write(encoder.encode('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n'));
      await readUntil(conn, "PONG");
      return;
    case "redis":
      await conn.write(encoder.encode("PING\r\n"));
      await readUntil(conn, "PONG");
      return;
    case "mqtt":
      if (name.length > 120) throw new RangeError(`Invalid client id "${name}": too long`);
      await conn.write(mqttConnectPacket(name));
      await readAtLeast(conn, buf, 4);
      if (buf[0] !== 0x20 || buf[3] !== 0) throw new Error(`CONNACK refused with ${buf[3]}`);
      return;
  }
}

/** Reads and discards; answers NATS PINGs so the server keeps the connection. */
async function idle(kind: Kind, conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(256);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) return;
      if (kind === "nats" && new TextDecoder().decode(buf.subarray(0, n)).includes("PING")) {
        await conn.write(encoder.encode("PONG\r\n"));
      }
    }
  } catch {
    // closed
  }
}

async function main(): Promise<void> {
  const [kind, address, countText, prefix] = Deno.args as [Kind, string, string, string];
  const count = Number(countText);
  const addr = parseAddress(address);
  if (addr.transport !== "unix" && addr.transport !== "tcp") {
    throw new TypeError(`not unix or tcp: ${address}`);
  }
  const conns: Deno.Conn[] = [];
  let next = 0;
  const opener = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const conn = addr.transport === "unix"
        ? await Deno.connect({ transport: "unix", path: addr.path })
        : await Deno.connect({ hostname: addr.hostname, port: addr.port });
      await handshake(kind, conn, `${prefix}.${i}`);
      conns.push(conn);
      idle(kind, conn);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, opener));
  // our broker drops clients silent for 1.25 × its timeout: ping like our client does
  const ping = new Uint8Array(9);
  const timer = kind === "busrt"
    ? setInterval(() => {
      for (const c of conns) c.write(ping).catch(() => {});
    }, PING_EVERY_MS)
    : undefined;
  console.log(`connected ${conns.length}`);
  Deno.addSignalListener("SIGTERM", () => {
    clearInterval(timer);
    for (const c of conns) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
    Deno.exit(0);
  });
}

if (import.meta.main) {
  try {
    await main();
  } catch (err) {
    console.log(`error ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
