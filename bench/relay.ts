/**
 * The ceiling for the end-to-end benchmark: a raw unix-socket relay that
 * speaks the same handshake and framing as the broker, with the same batched
 * writer and in-place decoder, but no broker logic (no registry rules, no
 * subscriptions, no queues, no stats): MESSAGE frames go to the named peer.
 *
 * Run: deno run -A bench/relay.ts /tmp/relay.sock
 *
 * @module
 */
import { ErrorCode, GREETINGS, Op } from "../protocol/constants.ts";
import { ClientFrameDecoder } from "../protocol/decode.ts";
import { writeAck, writeDelivery } from "../protocol/encode.ts";
import { readExact, writeAll } from "../transport/link.ts";
import { bytesEqual, indexOfNul } from "../protocol/text.ts";
import { WriteBuffer } from "../transport/write_buffer.ts";

interface Peer {
  nameZ: Uint8Array;
  writer: WriteBuffer;
}

const peers = new Map<string, Peer>();
const textDecoder = new TextDecoder();

async function serve(conn: Deno.Conn): Promise<void> {
  await writeAll(conn, new Uint8Array([GREETINGS, 1, 0]));
  await readExact(conn, 3);
  await writeAll(conn, new Uint8Array([ErrorCode.Ok]));
  const len = await readExact(conn, 2);
  const nameBytes = await readExact(conn, len[0] | (len[1] << 8));
  const name = textDecoder.decode(nameBytes);
  const nameZ = new Uint8Array(nameBytes.length + 1);
  nameZ.set(nameBytes);
  const writer = new WriteBuffer(conn);
  const me: Peer = { nameZ, writer };
  peers.set(name, me);
  await writeAll(conn, new Uint8Array([ErrorCode.Ok]));
  const dec = new ClientFrameDecoder();
  let lastTarget: Uint8Array = new Uint8Array(0);
  let target: Peer | undefined;
  try {
    for (;;) {
      const n = await conn.read(dec.readRegion());
      if (n === null) break;
      dec.commit(n);
      while (dec.next()) {
        const flags = dec.flags;
        if ((flags & 0x3f) !== Op.Message) continue;
        const buf = dec.buf;
        const nul = indexOfNul(buf, dec.bodyStart, dec.bodyEnd);
        if (!bytesEqual(buf, dec.bodyStart, nul, lastTarget)) {
          lastTarget = buf.slice(dec.bodyStart, nul);
          target = peers.get(textDecoder.decode(lastTarget));
        }
        if (target !== undefined) {
          writeDelivery(target.writer, Op.Message, false, nameZ, null, buf, nul + 1, dec.bodyEnd);
        }
        if ((flags >> 6) & 1) {
          writeAck(writer, buf, dec.idAt, target ? ErrorCode.Ok : ErrorCode.NotRegistered, false);
        }
      }
    }
  } catch {
    // peer gone
  } finally {
    peers.delete(name);
    try {
      conn.close();
    } catch {
      // closed
    }
  }
}

if (import.meta.main) {
  const path = Deno.args[0] ?? "/tmp/busrt-relay.sock";
  try {
    Deno.removeSync(path);
  } catch {
    // not there
  }
  const listener = Deno.listen({ transport: "unix", path });
  console.log("ready");
  for await (const conn of listener) serve(conn);
}
