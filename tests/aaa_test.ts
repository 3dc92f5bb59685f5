/**
 * The AAA model: ClientAaa semantics, the IP network checks, and every allow
 * and deny path per operation over real sockets (PROTOCOL.md §6.2, §15).
 */
import assert from "node:assert/strict";
import { AaaMap, ClientAaa } from "../broker/aaa.ts";
import { IpNetwork, parseIp } from "../broker/ip_network.ts";
import { ErrorCode, Op, QoS } from "../protocol/constants.ts";
import { BusError } from "../protocol/errors.ts";
import {
  ackBytes,
  clientFrame,
  describeFrames,
  expectEnded,
  fieldsBody,
  framesBeforeMarker,
  type TestBus,
  topicsBody,
  TRANSPORTS,
  utf8,
  withBus,
} from "./_helpers.ts";

function isAccessDenied(err: unknown): boolean {
  return err instanceof BusError && err.code === ErrorCode.Access;
}

function withAaaBus(aaa: AaaMap, fn: (bus: TestBus) => Promise<void>): Promise<void> {
  return withBus(fn, { config: { policy: aaa } });
}

// ---------------------------------------------------------------- ClientAaa rules

Deno.test("ClientAaa allows everything by default from IPv4 only", () => {
  const aaa = new ClientAaa();
  assert.ok(aaa.allowP2p("any.name"));
  assert.ok(aaa.allowPublish("a/b"));
  assert.ok(aaa.allowSubscribe("#"));
  assert.ok(aaa.allowBroadcast("*"));
  assert.ok(aaa.allowHost("203.0.113.9"));
  assert.ok(aaa.allowHost(null), "unix sockets skip the host check");
  assert.ok(!aaa.allowHost("::1"), "the default 0.0.0.0/0 does not contain IPv6");
  assert.ok(!aaa.allowHost("::ffff:127.0.0.1"), "nor IPv4-mapped IPv6");
});

Deno.test("ClientAaa allow*To restricts to the patterns and adds to earlier ones", () => {
  const aaa = new ClientAaa().allowP2pTo(["svc.*"]).allowP2pTo(["db.?.main"]);
  assert.ok(aaa.allowP2p("svc.a"));
  assert.ok(aaa.allowP2p("svc.a.b"), "* matches more than one segment");
  assert.ok(!aaa.allowP2p("svc"), "* needs at least one segment");
  assert.ok(aaa.allowP2p("db.x.main"));
  assert.ok(!aaa.allowP2p("db.x.y.main"), "? matches exactly one segment");
  assert.ok(!aaa.allowP2p("other"));
});

Deno.test("ClientAaa full wildcard makes a category any again, deny clears it", () => {
  assert.ok(new ClientAaa().allowPublishTo(["a/b", "#"]).allowPublish("x/y"));
  assert.ok(new ClientAaa().allowBroadcastTo(["*"]).allowBroadcast("x"));
  const denied = new ClientAaa().allowSubscribeTo(["a/#"]).denySubscribe();
  assert.ok(!denied.allowSubscribe("a/b"));
  assert.ok(!new ClientAaa().allowP2pTo([]).allowP2p("x"), "an empty list allows nothing");
  assert.ok(new ClientAaa().denyP2p().allowP2pTo(["x.*"]).allowP2p("x.y"), "allow after deny adds again");
});

Deno.test("ClientAaa: a pattern's or mask's wildcards are covered by permission wildcards of the same reach", () => {
  const aaa = new ClientAaa().allowSubscribeTo(["news/#"]).allowBroadcastTo(["test.*"]).allowPublishTo([
    "a/+",
  ]);
  assert.ok(aaa.allowSubscribe("news/#"), "'#' under news is covered by the permission's '#' there");
  assert.ok(aaa.allowSubscribe("news/+/x"));
  assert.ok(!aaa.allowSubscribe("#"));
  assert.ok(!aaa.allowSubscribe("news"), "# needs at least one segment");
  assert.ok(aaa.allowBroadcast("test.*"));
  assert.ok(!aaa.allowBroadcast("*"));
  assert.ok(aaa.allowPublish("a/b"));
  assert.ok(aaa.allowPublish("a/+"), "a published topic is a plain string: '+' is a literal segment there");
  assert.ok(!aaa.allowPublish("a/b/c"));
  assert.ok(!aaa.allowPublish("a"));
});

Deno.test("ClientAaa host networks: v4 and v6, never across families", () => {
  const aaa = new ClientAaa().allowHosts(["10.0.0.0/8", "fd00::/8", "192.0.2.7"]);
  assert.ok(aaa.allowHost("10.1.2.3"));
  assert.ok(!aaa.allowHost("11.1.2.3"));
  assert.ok(aaa.allowHost("192.0.2.7"));
  assert.ok(!aaa.allowHost("192.0.2.8"), "a bare address is a /32");
  assert.ok(aaa.allowHost("fd12::1"));
  assert.ok(aaa.allowHost("[fd12::1]"));
  assert.ok(aaa.allowHost("fd12::1%eth0"));
  assert.ok(!aaa.allowHost("fe80::1"));
  assert.ok(!aaa.allowHost("::ffff:10.1.2.3"), "an IPv4-mapped address is IPv6");
  assert.ok(!aaa.allowHost("not-an-ip"));
  assert.ok(!new ClientAaa().allowHosts([]).allowHost("127.0.0.1"), "no networks: unix sockets only");
  assert.ok(new ClientAaa().allowHosts([]).allowHost(null));
  assert.ok(new ClientAaa().allowHosts(["::/0"]).allowHost("::ffff:127.0.0.1"));
});

Deno.test("IpNetwork parses, masks host bits and refuses malformed text", () => {
  assert.equal(IpNetwork.parse("10.1.2.3/8").toString(), "10.0.0.0/8");
  assert.equal(IpNetwork.parse("127.0.0.1").toString(), "127.0.0.1/32");
  assert.equal(IpNetwork.parse("fd00:0:0::1/16").toString(), "fd00::/16");
  assert.equal(IpNetwork.parse("::1").toString(), "::1/128");
  assert.equal(IpNetwork.parse("::ffff:1.2.3.4/128").toString(), "::ffff:102:304/128");
  assert.ok(IpNetwork.parse("0.0.0.0/0").contains("255.255.255.255"));
  for (
    const bad of [
      "10.0.0/8",
      "10.0.0.0/33",
      "256.0.0.1",
      "010.0.0.1",
      "::1/129",
      "1:2:3:4:5:6:7:8:9",
      "a::b::c",
      "",
      "x",
    ]
  ) {
    assert.throws(() => IpNetwork.parse(bad), TypeError, bad);
  }
  assert.deepEqual([...parseIp("1:2::3")!.bytes], [0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
});

Deno.test("ClientAaa.fromSpec and toSpec round-trip the plain form", () => {
  const spec = {
    hosts: ["127.0.0.1/32"],
    p2p: ["svc.*"],
    publish: false,
    subscribe: true,
    broadcast: "deny",
  } as const;
  const aaa = ClientAaa.fromSpec(spec);
  assert.deepEqual(aaa.toSpec(), {
    hosts: ["127.0.0.1/32"],
    p2p: ["svc.*"],
    publish: false,
    subscribe: true,
    broadcast: false,
  });
  assert.ok(!aaa.allowBroadcast("x"));
  assert.throws(() => ClientAaa.fromSpec({ p2p: "some" as unknown as false }), TypeError);
});

Deno.test("AaaMap refuses secondary and empty names and copies entries on authorize", () => {
  const map = new AaaMap();
  assert.throws(() => map.set("app%%1", new ClientAaa()), TypeError);
  assert.throws(() => map.set("", new ClientAaa()), TypeError);
  const entry = new ClientAaa();
  map.set("app", entry);
  const acl = map.authorize("app", { ip: null });
  assert.ok(acl !== null && acl !== entry);
  entry.denyPublish();
  assert.ok(acl.allowPublish("x"), "a connected client keeps its copy");
  assert.equal(map.authorize("other", { ip: null }), null);
  assert.equal(map.authorize("app", { ip: "::1" }), null);
});

// ---------------------------------------------------------------- registration

for (const transport of TRANSPORTS) {
  Deno.test(`AAA refuses a name not in the map with 0x79 (${transport})`, async () => {
    await withAaaBus(new AaaMap({ known: new ClientAaa() }), async (bus) => {
      await assert.rejects(bus.client("stranger", transport), isAccessDenied);
      const ok = await bus.client("known", transport);
      assert.ok(ok.isConnected());
      const raw = await bus.raw(transport);
      assert.equal(await raw.handshake("stranger"), ErrorCode.Access);
      await raw.expectClosed();
    });
  });
}

Deno.test("AAA host check over TCP: 127.0.0.1 allowed, a network excluding it refused", async () => {
  const aaa = new AaaMap({
    local: new ClientAaa().allowHosts(["127.0.0.0/8"]),
    remote: new ClientAaa().allowHosts(["10.0.0.0/8", "::1/128"]),
    anyV4: new ClientAaa(),
  });
  await withAaaBus(aaa, async (bus) => {
    assert.ok((await bus.client("local", "tcp")).isConnected());
    assert.ok((await bus.client("anyV4", "tcp")).isConnected());
    await assert.rejects(bus.client("remote", "tcp"), isAccessDenied);
  });
});

Deno.test("AAA unix-socket clients skip the host check", async () => {
  const aaa = new AaaMap({
    remote: new ClientAaa().allowHosts(["10.0.0.0/8"]),
    nowhere: new ClientAaa().allowHosts([]),
  });
  await withAaaBus(aaa, async (bus) => {
    assert.ok((await bus.client("remote", "unix")).isConnected());
    assert.ok((await bus.client("nowhere", "unix")).isConnected());
    await assert.rejects(bus.client("nowhere", "tcp"), isAccessDenied);
  });
});

Deno.test("a listener without an AAA map lets any name connect", async () => {
  await withBus(async (bus) => {
    assert.ok((await bus.client("anyone", "tcp")).isConnected());
    assert.ok((await bus.client("someone", "unix")).isConnected());
  });
});

// ---------------------------------------------------------------- per-operation checks

const RESTRICTED = () =>
  new ClientAaa()
    .allowP2pTo(["peer.ok", "marker"])
    .allowPublishTo(["pub/ok/#"])
    .allowSubscribeTo(["sub/ok/#"])
    .allowBroadcastTo(["peer.*"]);

function restrictedMap(): AaaMap {
  return new AaaMap({ limited: RESTRICTED(), peer: new ClientAaa() });
}

for (const transport of TRANSPORTS) {
  Deno.test(`AAA p2p: allowed target ACKs 0x01, denied ACKs 0x79, QoS 0 denied is dropped (${transport})`, async () => {
    await withAaaBus(restrictedMap(), async (bus) => {
      const limited = await bus.client("limited", transport);
      const peerOk = bus.broker.registerClient("peer.ok");
      const peerNo = bus.broker.registerClient("peer.no");
      const marker = bus.broker.registerClient("marker");
      await limited.send("peer.ok", "yes", QoS.Processed);
      await assert.rejects(limited.send("peer.no", "no", QoS.Processed), isAccessDenied);
      await assert.rejects(limited.send("peer.no", "no", QoS.RealtimeProcessed), isAccessDenied);
      limited.send("peer.no", "dropped", QoS.No);
      limited.send("peer.no", "dropped-rt", QoS.Realtime);
      limited.send("peer.ok", "after", QoS.No);
      await limited.send("peer.ok", "last", QoS.Processed);
      assert.deepEqual(describeFrames(await framesBeforeMarker(peerOk, marker)), [
        "msg:limited:yes",
        "msg:limited:after",
        "msg:limited:last",
      ]);
      assert.deepEqual(describeFrames(await framesBeforeMarker(peerNo, marker)), []);
    });
  });
}

Deno.test("AAA publish and publish_for: allowed ACK 0x01, denied 0x79, QoS 0 denied dropped", async () => {
  await withAaaBus(restrictedMap(), async (bus) => {
    const limited = await bus.client("limited");
    const sub = bus.broker.registerClient("sub");
    const marker = bus.broker.registerClient("marker");
    await sub.subscribe("#", QoS.Processed);
    await limited.publish("pub/ok/a", "1", QoS.Processed);
    await assert.rejects(limited.publish("pub/no", "x", QoS.Processed), isAccessDenied);
    await assert.rejects(limited.publish("pub/ok", "x", QoS.Processed), isAccessDenied, "# needs a segment");
    limited.publish("pub/no", "dropped", QoS.No);
    await limited.publishFor("pub/ok/b", "sub", "2", QoS.Processed);
    await assert.rejects(limited.publishFor("pub/no", "sub", "x", QoS.Processed), isAccessDenied);
    limited.publishFor("pub/no", "sub", "dropped", QoS.Realtime);
    await limited.publish("pub/ok/c", "3", QoS.Processed);
    assert.deepEqual(describeFrames(await framesBeforeMarker(sub, marker)), [
      "pub:limited:pub/ok/a:1",
      "pub:limited:pub/ok/b:2",
      "pub:limited:pub/ok/c:3",
    ]);
  });
});

Deno.test("AAA broadcast: allowed mask ACK 0x01, denied 0x79, QoS 0 denied dropped", async () => {
  await withAaaBus(restrictedMap(), async (bus) => {
    const limited = await bus.client("limited");
    const peer = bus.broker.registerClient("peer.x");
    const marker = bus.broker.registerClient("marker");
    await limited.broadcast("peer.*", "1", QoS.Processed);
    await limited.broadcast("peer.x", "2", QoS.Processed);
    await assert.rejects(limited.broadcast("*", "x", QoS.Processed), isAccessDenied);
    await assert.rejects(limited.broadcast("peer", "x", QoS.Processed), isAccessDenied);
    limited.broadcast("*", "dropped", QoS.No);
    await limited.broadcast("peer.?", "3", QoS.Processed);
    assert.deepEqual(describeFrames(await framesBeforeMarker(peer, marker)), [
      "bc:limited:1",
      "bc:limited:2",
      "bc:limited:3",
    ]);
  });
});

Deno.test("AAA subscribe: one 0x79 ACK per denied topic, then 0x01; allowed topics are subscribed", async () => {
  await withAaaBus(restrictedMap(), async (bus) => {
    const wire = await bus.wire("limited");
    const body = topicsBody(["sub/ok/a", "sub/no", "#", "sub/ok/#"]);
    await wire.write(clientFrame(9, Op.Subscribe, QoS.Processed, body));
    await wire.expectFrame(ackBytes(9, ErrorCode.Access), "ACK for sub/no");
    await wire.expectFrame(ackBytes(9, ErrorCode.Access), "ACK for #");
    await wire.expectFrame(ackBytes(9, ErrorCode.Ok), "final ACK");
    // QoS 0: denied topics are skipped silently
    await wire.write(clientFrame(10, Op.Subscribe, QoS.No, topicsBody(["other/x", "sub/ok/b/c"])));
    const pub = bus.broker.registerClient("pub");
    for (const t of ["sub/ok/a", "sub/no", "other/x", "sub/ok/b/c", "sub/ok/z"]) pub.publish(t, t);
    for (const t of ["sub/ok/a", "sub/ok/b/c", "sub/ok/z"]) {
      const f = await wire.readFrame();
      assert.equal(f[0], Op.Publish, `frame for ${t}`);
      assert.ok(new TextDecoder().decode(f).includes(`${t}\0${t}`), `publication ${t}`);
    }
    // a ping-like NOP-free check that nothing else was queued: an ACKed message comes next
    await wire.write(clientFrame(11, Op.Message, QoS.Processed, fieldsBody(["peer.ok"], utf8("x"))));
    await wire.expectFrame(ackBytes(11, ErrorCode.NotRegistered), "the next frame is the ACK");
  });
});

Deno.test("AAA subscribe through IpcClient rejects with 0x79 when a topic is denied", async () => {
  await withAaaBus(restrictedMap(), async (bus) => {
    const limited = await bus.client("limited");
    await limited.subscribe(["sub/ok/a", "sub/ok/b"], QoS.Processed);
    await assert.rejects(limited.subscribe(["sub/no"], QoS.Processed), isAccessDenied);
  });
});

Deno.test("AAA never checks unsubscribe, exclude and unexclude", async () => {
  const aaa = new AaaMap({ locked: new ClientAaa().denyP2p().denyPublish().denySubscribe().denyBroadcast() });
  await withAaaBus(aaa, async (bus) => {
    const locked = await bus.client("locked");
    await locked.unsubscribe("a/#", QoS.Processed);
    await locked.exclude("a/#", QoS.Processed);
    await locked.unexclude("a/#", QoS.Processed);
    await assert.rejects(locked.subscribe("a/#", QoS.Processed), isAccessDenied);
    await assert.rejects(locked.publish("a/b", "x", QoS.Processed), isAccessDenied);
    await assert.rejects(locked.send("x", "x", QoS.Processed), isAccessDenied);
    await assert.rejects(locked.broadcast("x", "x", QoS.Processed), isAccessDenied);
    // receiving is never checked
    const other = bus.broker.registerClient("other");
    await other.send("locked", "hello", QoS.Processed);
    const marker = bus.broker.registerClient("marker");
    assert.deepEqual(describeFrames(await framesBeforeMarker(locked, marker)), ["msg:other:hello"]);
  });
});

// ---------------------------------------------------------------- secondaries, changes

for (const transport of TRANSPORTS) {
  Deno.test(`AAA a restricted client's secondary is equally restricted (${transport})`, async () => {
    await withAaaBus(restrictedMap(), async (bus) => {
      const limited = await bus.client("limited", transport);
      const secondary = await limited.registerSecondary();
      assert.equal(secondary.name, "limited%%0");
      const peerOk = bus.broker.registerClient("peer.ok");
      await secondary.send("peer.ok", "from secondary", QoS.Processed);
      await assert.rejects(secondary.send("peer.no", "x", QoS.Processed), isAccessDenied);
      await assert.rejects(secondary.publish("pub/no", "x", QoS.Processed), isAccessDenied);
      await assert.rejects(secondary.subscribe("sub/no", QoS.Processed), isAccessDenied);
      await assert.rejects(secondary.broadcast("*", "x", QoS.Processed), isAccessDenied);
      const marker = bus.broker.registerClient("marker");
      assert.deepEqual(describeFrames(await framesBeforeMarker(peerOk, marker)), [
        "msg:limited%%0:from secondary",
      ]);
      await secondary.close();
    });
  });
}

Deno.test("AAA secondary of a name not in the map is refused with 0x79", async () => {
  await withAaaBus(restrictedMap(), async (bus) => {
    bus.broker.registerClient("inproc");
    await assert.rejects(bus.client("inproc%%1"), isAccessDenied);
  });
});

Deno.test("AAA map changes affect only new connections", async () => {
  const aaa = new AaaMap({ app: new ClientAaa() });
  await withAaaBus(aaa, async (bus) => {
    const app = await bus.client("app");
    aaa.set("app", new ClientAaa().denyPublish());
    aaa.get("app")!.denyP2p();
    await app.publish("a/b", "still allowed", QoS.Processed);
    const secondary = await app.registerSecondary();
    await assert.rejects(secondary.publish("a/b", "x", QoS.Processed), isAccessDenied);
    aaa.delete("app");
    await app.publish("a/b", "still allowed", QoS.Processed);
    await assert.rejects(app.registerSecondary(), isAccessDenied);
    await secondary.close();
  });
});

Deno.test("AaaMap.replace disconnects the client and its secondaries; the reconnection gets the new rules", async () => {
  const aaa = new AaaMap({ app: new ClientAaa() });
  await withAaaBus(aaa, async (bus) => {
    const app = await bus.client("app");
    const secondary = await app.registerSecondary();
    const other = await bus.client("other", "unix").catch((e) => e);
    assert.ok(isAccessDenied(other));
    assert.equal(aaa.replace("app", new ClientAaa().denyPublish(), bus.broker), 2);
    await expectEnded(app);
    await expectEnded(secondary);
    await secondary.close();
    assert.ok(!bus.broker.isRegistered("app"));
    const again = await bus.client("app");
    await assert.rejects(again.publish("a/b", "x", QoS.Processed), isAccessDenied);
    assert.equal(aaa.replace("absent", new ClientAaa(), bus.broker), 0);
  });
});

Deno.test("AaaMap.revoke disconnects the client and refuses it afterwards", async () => {
  const aaa = new AaaMap({ app: new ClientAaa() });
  await withAaaBus(aaa, async (bus) => {
    const app = await bus.client("app", "tcp");
    assert.equal(aaa.revoke("app", bus.broker), 1);
    await expectEnded(app);
    await assert.rejects(bus.client("app", "tcp"), isAccessDenied);
  });
});

Deno.test("broker.forceDisconnect of a secondary closes only that secondary", async () => {
  await withAaaBus(new AaaMap({ app: new ClientAaa() }), async (bus) => {
    const app = await bus.client("app");
    const s0 = await app.registerSecondary();
    const s1 = await app.registerSecondary();
    bus.broker.forceDisconnect("app%%0");
    await expectEnded(s0);
    assert.ok(bus.broker.isRegistered("app") && bus.broker.isRegistered("app%%1"));
    bus.broker.forceDisconnect("app");
    await expectEnded(s1);
    await expectEnded(app);
    await Promise.all([s0.close(), s1.close()]);
  });
});
