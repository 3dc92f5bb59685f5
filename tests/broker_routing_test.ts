/**
 * Routing on real sockets (unix and TCP): direct messages, broadcasts by name
 * mask, publications, exclusions, publish-for, ACK codes, the realtime flag
 * and ordering (PROTOCOL.md §6, §7).
 */
import assert from "node:assert/strict";
import { encodeAnnouncement } from "../broker/announcement.ts";
import type { IpcClient } from "../client/ipc_client.ts";
import { ErrorCode, Op, QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import type { Frame } from "../protocol/frame.ts";
import {
  ackBytes,
  clientFrame,
  deliveredFrame,
  describeFrames,
  fieldsBody,
  framesBeforeMarker,
  type FrameSource,
  nextFrame,
  type TestBus,
  text,
  topicsBody,
  type Transport,
  TRANSPORTS,
  withBus,
} from "./_helpers.ts";

/** Payloads of the frames `client` received before a marker from `via`. */
async function received(client: FrameSource, via: IpcClient): Promise<string[]> {
  return (await framesBeforeMarker(client, via)).map((f) => text(f.payload));
}

for (const transport of TRANSPORTS) {
  Deno.test(`direct messages go to the exact name only, to self too; unknown -> 71 (${transport})`, async () => {
    await withBus(async (bus) => {
      const a = await bus.client("app", transport);
      const b = await bus.client("App", transport);
      const sec = await bus.client("app%%7", transport);
      await a.send("App", "to B", QoS.Processed);
      await a.send("app", "to self", QoS.Processed);
      await a.send("app%%7", "to secondary", QoS.Processed);
      await assert.rejects(
        a.send("APP", "x", QoS.Processed),
        (e) => e instanceof BusError && e.isNotRegistered(),
      );
      await assert.rejects(
        a.send("app%%", "x", QoS.Processed),
        (e) => e instanceof BusError && e.isNotRegistered(),
      );
      a.send("nobody", "x"); // QoS 0: silently dropped, the connection stays usable
      assert.deepEqual(describeFrames(await framesBeforeMarker(b, a)), ["msg:app:to B"]);
      assert.deepEqual(describeFrames(await framesBeforeMarker(a, a)), ["msg:app:to self"]);
      assert.deepEqual(describeFrames(await framesBeforeMarker(sec, a)), ["msg:app:to secondary"]);
      const f = (await Promise.all([sec.send("App", "from sec", QoS.Processed), nextFrame(b)]))[1];
      assert.equal(f.sender, "app%%7");
      assert.equal(f.primarySender, "app");
    });
  });

  Deno.test(`broadcast masks select recipients exactly as §7.2 (${transport})`, async () => {
    await withBus(async (bus) => {
      const core = bus.broker.registerCoreClient();
      const names = ["a", "a.x", "a.x.y", "x.b", "a*", "b.c"];
      const clients: FrameSource[] = [core];
      for (const n of names) clients.push(await bus.client(n, transport));
      clients.push(await bus.client("a.x%%1", transport));
      const snd = await bus.client("snd", transport);
      clients.push(snd);
      const expected: Record<string, string[]> = {
        "*": [".broker", "a", "a.x", "a.x.y", "x.b", "a*", "b.c", "a.x%%1", "snd"],
        "a.*": ["a.x", "a.x.y", "a.x%%1"],
        "a.*.c": ["a.x", "a.x.y", "a.x%%1"],
        "a.?": ["a.x", "a.x%%1"],
        "?.b": ["x.b"],
        "a*": ["a*"],
        "a": ["a"],
        "?": ["a", "a*", "snd"],
        "?.broker": [".broker"],
        "b.?.?": [],
        "nobody": [],
        "a.x%%1": ["a.x%%1"],
      };
      for (const mask of Object.keys(expected)) await snd.broadcast(mask, mask, QoS.Processed);
      for (const c of clients) {
        const got = (await framesBeforeMarker(c, snd)).map((f) => {
          assert.equal(f.kind, Op.Broadcast);
          assert.equal(f.sender, "snd");
          return text(f.payload);
        });
        const want = Object.keys(expected).filter((m) => expected[m].includes(c.name));
        assert.deepEqual(got, want, `masks received by "${c.name}"`);
      }
    }, { core: true });
  });

  Deno.test(`subscription patterns select publications exactly as §7.3 (${transport})`, async () => {
    await withBus(async (bus) => {
      const expected: Record<string, string[]> = {
        "a/#": ["a/b", "a/b/c", "a/"],
        "#": ["a", "a/b", "a/b/c", "a/", "", "x", "a+", "x#", "ab"],
        "a/#/b": ["a/b", "a/b/c", "a/"],
        "+": ["a", "", "x", "a+", "x#", "ab"],
        "a/+": ["a/b", "a/"],
        "a+": ["a+"],
        "x#": ["x#"],
        "a/b": ["a/b"],
        "": [""],
      };
      const topics = ["a", "a/b", "a/b/c", "a/", "", "x", "a+", "x#", "ab"];
      const pub = await bus.client("pub", transport);
      const subs: [string, IpcClient][] = [];
      for (const [i, pattern] of Object.keys(expected).entries()) {
        const c = await bus.client(`sub${i}`, transport);
        await c.subscribe(pattern, QoS.Processed);
        subs.push([pattern, c]);
      }
      for (const t of topics) await pub.publish(t, `payload of ${t}`, QoS.Processed);
      for (const [pattern, c] of subs) {
        const frames = await framesBeforeMarker(c, pub);
        assert.deepEqual(frames.map((f) => f.topic), expected[pattern], `topics received for "${pattern}"`);
        for (const f of frames) {
          assert.equal(f.kind, Op.Publish);
          assert.equal(text(f.payload), `payload of ${f.topic}`);
        }
      }
    });
  });

  Deno.test(`a publication is delivered once per client and to its sender (${transport})`, async () => {
    await withBus(async (bus) => {
      const s = await bus.client("s", transport);
      await s.subscribe(["a/#", "a/b", "#", "+/b", "a/+"], QoS.Processed);
      await s.subscribe("a/b", QoS.Processed); // twice: no-op
      await s.publish("a/b", "once", QoS.Processed);
      assert.deepEqual(describeFrames(await framesBeforeMarker(s, s)), ["pub:s:a/b:once"]);
      // a broadcast the sender matches is delivered to it as well
      await s.broadcast("*", "bc", QoS.Processed);
      assert.deepEqual(describeFrames(await framesBeforeMarker(s, s)), ["bc:s:bc"]);
    });
  });

  Deno.test(`topic-list frames: empty body is topic "", several topics per frame, exact unsubscribe (${transport})`, async () => {
    await withBus(async (bus) => {
      const w = await bus.wire("w", transport);
      const pub = await bus.client("pub", transport);
      const ack = async (id: number) => await w.expectFrame(ackBytes(id, ErrorCode.Ok), `ACK ${id}`);
      await w.write(clientFrame(1, Op.Subscribe, QoS.Processed, new Uint8Array(0)));
      await ack(1);
      await pub.publish("", "empty", QoS.Processed);
      await pub.publish("x", "x", QoS.Processed);
      await w.expectFrame(deliveredFrame(Op.Publish, "pub", "", "empty"), 'empty body subscribed topic ""');

      await w.write(clientFrame(2, Op.Subscribe, QoS.Processed, topicsBody(["t1", "t2", "q/#"])));
      await ack(2);
      await w.write(clientFrame(3, Op.Subscribe, QoS.Processed, topicsBody(["t3", ""]))); // trailing NUL: "" again
      await ack(3);
      await w.write(clientFrame(4, Op.Unsubscribe, QoS.Processed, topicsBody(["", "#", "q/+", "t9"])));
      await ack(4);
      for (const t of ["", "t1", "t2", "t3", "q/x"]) await pub.publish(t, t, QoS.Processed);
      for (const t of ["t1", "t2", "t3", "q/x"]) {
        await w.expectFrame(deliveredFrame(Op.Publish, "pub", t, t), `still subscribed to ${t}`);
      }
      await w.write(clientFrame(5, Op.Unsubscribe, QoS.Processed, topicsBody(["t1", "t3"])));
      await ack(5);
      for (const t of ["t1", "t2", "t3"]) await pub.publish(t, t, QoS.Processed);
      await w.expectFrame(deliveredFrame(Op.Publish, "pub", "t2", "t2"), "only t2 remains of t1..t3");
      await pub.send("w", "end", QoS.Processed);
      await w.expectFrame(deliveredFrame(Op.Message, "pub", null, "end"), "nothing else arrived");
    });
  });

  Deno.test(`exclusions filter publications only, exact pattern strings (${transport})`, async () => {
    await withBus(async (bus) => {
      const pub = await bus.client("pub", transport);
      const c = await bus.client("c", transport);
      await c.subscribe("#", QoS.Processed);
      await c.exclude("a/#", QoS.Processed);
      for (const t of ["a/x", "b", "a", "a/x/y"]) await pub.publish(t, t, QoS.Processed);
      await pub.broadcast("c", "bc", QoS.Processed);
      assert.deepEqual(await received(c, pub), ["b", "a", "bc"], "a/# excluded, a and broadcasts pass");
      await c.unexclude("a/+", QoS.Processed); // not the excluded string: no effect
      await pub.publish("a/x", "a/x", QoS.Processed);
      assert.deepEqual(await received(c, pub), []);
      await c.unexclude("a/#", QoS.Processed);
      await pub.publish("a/x", "a/x", QoS.Processed);
      assert.deepEqual(await received(c, pub), ["a/x"]);

      const d = await bus.client("d", transport);
      await d.exclude(["z", "y/+"], QoS.Processed); // before subscribing
      await d.subscribe(["z", "y/1", "w"], QoS.Processed);
      for (const t of ["z", "y/1", "w"]) await pub.publish(t, t, QoS.Processed);
      await pub.publishFor("z", "d", "for z", QoS.Processed);
      assert.deepEqual(await received(d, pub), ["w"], "exclusions also filter publish-for");
    });
  });

  Deno.test(`publish-for reaches the subscribed instances of a primary only (${transport})`, async () => {
    await withBus(async (bus) => {
      const pub = await bus.client("pub", transport);
      const p = await bus.client("p", transport);
      const p0 = await p.registerSecondary();
      const p1 = await p.registerSecondary();
      const p2 = await p.registerSecondary();
      const q = await bus.client("q", transport);
      const pq = await bus.client("pq", transport);
      for (const c of [p, p0, p2, q, pq]) await c.subscribe("t", QoS.Processed);
      await p2.exclude("t", QoS.Processed);
      await pub.publishFor("t", "p", "for p", QoS.Processed);
      await pub.publishFor("t", "p%%0", "for p%%0", QoS.Processed);
      await pub.publishFor("u", "p", "unsubscribed topic", QoS.Processed);
      await pub.publishFor("t", "nobody", "nobody", QoS.Processed);
      await pub.publishFor("t", "q", "for q", QoS.Processed);
      const expected: [IpcClient, string[]][] = [
        [p, ["pub:pub:t:for p"]],
        [p0, ["pub:pub:t:for p"]],
        [p1, []],
        [p2, []],
        [q, ["pub:pub:t:for q"]],
        [pq, []],
      ];
      for (const [c, want] of expected) {
        assert.deepEqual(describeFrames(await framesBeforeMarker(c, pub)), want, `received by ${c.name}`);
      }
    });
  });

  Deno.test(`ACK codes for every op and outcome (§6.2) (${transport})`, async () => {
    await withBus(async (bus) => {
      const s = await bus.wire("s", transport);
      const r = await bus.wire("r", transport);
      await r.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["t"])));
      await r.expectFrame(ackBytes(1, ErrorCode.Ok));
      const cases: [string, number, number, Uint8Array, number | null][] = [
        ["message", Op.Message, QoS.Processed, fieldsBody(["r"], "x"), ErrorCode.Ok],
        ["message qos 3", Op.Message, QoS.RealtimeProcessed, fieldsBody(["r"], "x"), ErrorCode.Ok],
        ["message to unknown", Op.Message, QoS.Processed, fieldsBody(["zz"], "x"), ErrorCode.NotRegistered],
        [
          "message to unknown qos 3",
          Op.Message,
          QoS.RealtimeProcessed,
          fieldsBody(["zz"], "x"),
          ErrorCode.NotRegistered,
        ],
        ["message qos 0", Op.Message, QoS.No, fieldsBody(["r"], "x"), null],
        ["message qos 2", Op.Message, QoS.Realtime, fieldsBody(["r"], "x"), null],
        ["message to unknown qos 0", Op.Message, QoS.No, fieldsBody(["zz"], "x"), null],
        ["broadcast exact", Op.Broadcast, QoS.Processed, fieldsBody(["r"], "x"), ErrorCode.Ok],
        ["broadcast no wildcard, nobody", Op.Broadcast, QoS.Processed, fieldsBody(["zz"], "x"), ErrorCode.Ok],
        ["broadcast wildcard, nobody", Op.Broadcast, QoS.Processed, fieldsBody(["zz.*"], "x"), ErrorCode.Ok],
        ["broadcast qos 0", Op.Broadcast, QoS.No, fieldsBody(["r"], "x"), null],
        ["publish", Op.Publish, QoS.Processed, fieldsBody(["t"], "x"), ErrorCode.Ok],
        ["publish, no subscriber", Op.Publish, QoS.Processed, fieldsBody(["none"], "x"), ErrorCode.Ok],
        ["publish qos 2", Op.Publish, QoS.Realtime, fieldsBody(["t"], "x"), null],
        ["publish-for", Op.PublishFor, QoS.Processed, fieldsBody(["t", "r"], "x"), ErrorCode.Ok],
        ["publish-for, nobody", Op.PublishFor, QoS.Processed, fieldsBody(["t", "zz"], "x"), ErrorCode.Ok],
        ["publish-for qos 0", Op.PublishFor, QoS.No, fieldsBody(["t", "r"], "x"), null],
        ["subscribe", Op.Subscribe, QoS.Processed, topicsBody(["k"]), ErrorCode.Ok],
        ["subscribe qos 3", Op.Subscribe, QoS.RealtimeProcessed, topicsBody(["k2"]), ErrorCode.Ok],
        ["unsubscribe unknown", Op.Unsubscribe, QoS.Processed, topicsBody(["never"]), ErrorCode.Ok],
        ["exclude", Op.Exclude, QoS.Processed, topicsBody(["e"]), ErrorCode.Ok],
        ["unexclude unknown", Op.Unexclude, QoS.Processed, topicsBody(["never"]), ErrorCode.Ok],
        ["subscribe qos 0", Op.Subscribe, QoS.No, topicsBody(["k3"]), null],
        ["nop qos 1", Op.Nop, QoS.Processed, fieldsBody(["x"], "y"), null],
        ["nop qos 3", Op.Nop, QoS.RealtimeProcessed, fieldsBody([""], ""), null],
      ];
      let id = 100;
      for (const [what, op, qos, body, code] of cases) {
        id++;
        await s.write(clientFrame(id, op, qos, body));
        if (code !== null) {
          await s.expectFrame(ackBytes(id, code), what);
        } else {
          // the next thing the sender sees is the ACK of a probe sent after it
          await s.write(clientFrame(id + 1000, Op.Subscribe, QoS.Processed, topicsBody(["probe"])));
          await s.expectFrame(ackBytes(id + 1000, ErrorCode.Ok), `no ACK for ${what}`);
        }
      }
    });
  });

  Deno.test(`the realtime byte follows the QoS of the sender's frame (${transport})`, async () => {
    await withBus(async (bus) => {
      const a = await bus.client("a", transport);
      const b = await bus.client("b", transport);
      await b.subscribe("t", QoS.Processed);
      const got: string[] = [];
      for (const qos of [QoS.No, QoS.Processed, QoS.Realtime, QoS.RealtimeProcessed]) {
        await Promise.all([a.send("b", "m", qos), a.broadcast("b", "bc", qos), a.publish("t", "p", qos)]);
        for (let i = 0; i < 3; i++) {
          const f = await nextFrame(b);
          got.push(`${qos}:${describeFrames([f])[0]}:${f.realtime}`);
        }
      }
      assert.deepEqual(got, [
        "0:msg:a:m:false",
        "0:bc:a:bc:false",
        "0:pub:a:t:p:false",
        "1:msg:a:m:false",
        "1:bc:a:bc:false",
        "1:pub:a:t:p:false",
        "2:msg:a:m:true",
        "2:bc:a:bc:true",
        "2:pub:a:t:p:true",
        "3:msg:a:m:true",
        "3:bc:a:bc:true",
        "3:pub:a:t:p:true",
      ]);
    });
  });

  Deno.test(`frames from one sender arrive in send order; ACKs in frame order (${transport})`, async () => {
    await withBus(async (bus) => {
      const a = await bus.client("a", transport);
      const b = await bus.client("b", transport);
      const c = await bus.client("c", transport);
      await b.subscribe("t", QoS.Processed);
      const acks: number[] = [];
      const pending: Promise<void>[] = [];
      const n = 3000;
      for (let i = 0; i < n; i++) {
        const qos = (i % 4) as QoS;
        const kind = i % 5;
        const payload = `${i}`;
        const r = kind === 0
          ? a.broadcast("?", payload, qos)
          : kind === 1
          ? a.publish("t", payload, qos)
          : a.send(i % 2 === 0 ? "b" : "c", payload, qos);
        if (r !== undefined) pending.push(r.then(() => void acks.push(i)));
      }
      await Promise.all(pending);
      assert.deepEqual(acks, [...acks].sort((x, y) => x - y), "ACKs resolve in frame order");
      const expectB: number[] = [];
      const expectC: number[] = [];
      for (let i = 0; i < n; i++) {
        const kind = i % 5;
        if (kind === 0 || kind === 1 || i % 2 === 0) expectB.push(i);
        if (kind === 0 || (kind > 1 && i % 2 === 1)) expectC.push(i);
      }
      const read = async (client: IpcClient, count: number) => {
        const out: number[] = [];
        for (let i = 0; i < count; i++) out.push(Number(text((await nextFrame(client)).payload)));
        return out;
      };
      assert.deepEqual(await read(b, expectB.length), expectB, "order at b");
      assert.deepEqual(await read(c, expectC.length), expectC, "order at c");
      // a received its own broadcasts ("?" matches "a")
      const own = await framesBeforeMarker(a, a);
      assert.deepEqual(
        own.map((f: Frame) => Number(text(f.payload))),
        expectB.filter((i) => i % 5 === 0),
      );
    });
  });
}

Deno.test("clients on unix and TCP listeners of one broker talk to each other", async () => {
  await withBus(async (bus) => {
    const byTransport: Record<Transport, IpcClient> = {
      unix: await bus.client("via.unix", "unix"),
      tcp: await bus.client("via.tcp", "tcp"),
    };
    await byTransport.unix.subscribe("x", QoS.Processed);
    await byTransport.tcp.send("via.unix", "hello unix", QoS.Processed);
    await byTransport.tcp.publish("x", "pub", QoS.Processed);
    await byTransport.unix.broadcast("via.*", "to all", QoS.Processed);
    assert.deepEqual(describeFrames(await framesBeforeMarker(byTransport.unix, byTransport.tcp)), [
      "msg:via.tcp:hello unix",
      "pub:via.tcp:x:pub",
      "bc:via.unix:to all",
    ]);
    assert.deepEqual(describeFrames(await framesBeforeMarker(byTransport.tcp, byTransport.unix)), [
      "bc:via.unix:to all",
    ]);
    const list = bus.broker.clientList();
    assert.deepEqual(list.map((c) => [c.name, c.kind, c.port]), [
      ["via.tcp", "tcp", bus.tcp],
      ["via.unix", "local_ipc", bus.unix],
    ]);
    assert.equal(list[1].source, null);
    assert.match(list[0].source!, /^127\.0\.0\.1:\d+$/);
  });
});

function counters(bus: TestBus, name: string): number[] {
  const c = bus.broker.clientList().find((row) => row.name === name);
  assert.ok(c !== undefined, `client ${name} listed`);
  return [c.r_frames, c.r_bytes, c.w_frames, c.w_bytes];
}

Deno.test("statistics counters (§20) have exact values after a known sequence", async () => {
  await withBus(async (bus) => {
    const a = await bus.wire("A");
    const b = await bus.wire("B");
    const ok = (id: number) => ackBytes(id, ErrorCode.Ok);
    await a.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["t"]))); // A r 1/1, w ack
    await a.expectFrame(ok(1));
    await b.write(clientFrame(1, Op.Message, QoS.Processed, fieldsBody(["A"], "hello"))); // 7 bytes
    await b.write(clientFrame(2, Op.Publish, QoS.No, fieldsBody(["t"], "xy"))); // 4 bytes
    await b.write(clientFrame(3, Op.Message, QoS.Processed, fieldsBody(["zz"], "q"))); // 4 bytes, 71: counted
    await b.write(clientFrame(4, Op.Broadcast, QoS.No, fieldsBody(["*"], "p"))); // 3 bytes, to A and B
    await b.write(new Uint8Array(9)); // ping: not counted
    await b.write(clientFrame(5, Op.Nop, QoS.Processed, fieldsBody(["x"], ""))); // NOP with QoS: not counted
    await b.write(clientFrame(6, Op.PublishFor, QoS.Processed, fieldsBody(["t", "A"], "z"))); // 5 bytes
    await b.write(clientFrame(7, Op.Exclude, QoS.Processed, topicsBody(["e"]))); // 1 byte
    await b.expectFrame(ok(1));
    await b.expectFrame(ackBytes(3, ErrorCode.NotRegistered));
    await b.expectFrame(deliveredFrame(Op.Broadcast, "B", null, "p"));
    await b.expectFrame(ok(6));
    await b.expectFrame(ok(7));
    await a.expectFrame(deliveredFrame(Op.Message, "B", null, "hello"));
    await a.expectFrame(deliveredFrame(Op.Publish, "B", "t", "xy"));
    await a.expectFrame(deliveredFrame(Op.Broadcast, "B", null, "p"));
    await a.expectFrame(deliveredFrame(Op.Publish, "B", "t", "z"));
    await a.write(clientFrame(2, Op.Unsubscribe, QoS.Processed, topicsBody(["nothing"]))); // 7 bytes
    await a.expectFrame(ok(2));
    assert.deepEqual(counters(bus, "A"), [2, 8, 6, 6 + 7 + 4 + 3 + 5 + 6]);
    assert.deepEqual(counters(bus, "B"), [6, 7 + 4 + 4 + 3 + 5 + 1, 5, 6 + 6 + 3 + 6 + 6]);
    const s = bus.broker.stats();
    assert.deepEqual([s.r_frames, s.r_bytes, s.w_frames, s.w_bytes], [8, 32, 11, 58]);
    assert.equal(s.uptime, 0);
  });
});

Deno.test("in-process senders and .broker announcements count payload bytes only (§20)", async () => {
  await withBus(async (bus) => {
    const a = await bus.wire("A"); // its reg announcement: .broker r 1 frame
    const regBytes = encodeAnnouncement("reg", "A", 0n).length;
    assert.deepEqual(counters(bus, ".broker"), [1, regBytes, 0, 0]);
    await a.write(clientFrame(1, Op.Subscribe, QoS.Processed, topicsBody(["t"])));
    await a.expectFrame(ackBytes(1, ErrorCode.Ok));
    const ip = bus.broker.registerClient("ip"); // second reg announcement
    ip.send("A", "hello");
    ip.publish("t", "xy");
    ip.broadcast("A", "b");
    await a.expectFrame(deliveredFrame(Op.Message, "ip", null, "hello"));
    await a.expectFrame(deliveredFrame(Op.Publish, "ip", "t", "xy"));
    await a.expectFrame(deliveredFrame(Op.Broadcast, "ip", null, "b"));
    assert.deepEqual(counters(bus, "ip").slice(0, 2), [3, 5 + 2 + 1]);
    assert.deepEqual(counters(bus, "A"), [1, 1, 4, 6 + 5 + 2 + 1]);
    assert.deepEqual(counters(bus, ".broker"), [
      2,
      regBytes + encodeAnnouncement("reg", "ip", 0n).length,
      0,
      0,
    ]);
  }, { core: true });
});
