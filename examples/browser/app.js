// The example page's script: busrt in a browser, over WebSocket.
//
// Query parameters: bus (ws:// or wss:// URL of the broker; default: this page's host, port 7780),
// name (client name; default browser.demo), token (the listener's token, if it has one),
// peer (a client to call "greet" on and to wait for a "demo/from-deno" publication from),
// report (topic the results are published on at the end; default browser/result).
//
// The bundle (deno task bundle:browser) is served next to this page as busrt.browser.js.
const bundle = new URL("./busrt.browser.js", import.meta.url).href;
const { brokerTest, connect, QoS, RpcClient } = await import(bundle);

const params = new URLSearchParams(location.search);
const bus = params.get("bus") ?? `ws://${location.hostname || "127.0.0.1"}:7780/`;
const name = params.get("name") ?? "browser.demo";
const token = params.get("token") ?? undefined;
const peer = params.get("peer");
const reportTopic = params.get("report") ?? "browser/result";
const decoder = new TextDecoder();

const results = { bus, name, userAgent: navigator.userAgent, steps: {}, ok: false };

/** Shows a step in the table and records it. */
function show(step, ok, detail) {
  results.steps[step] = { ok, detail };
  const row = document.createElement("tr");
  const what = document.createElement("td");
  what.textContent = step;
  const result = document.createElement("td");
  result.className = ok ? "ok" : "fail";
  result.textContent = `${ok ? "✔" : "✘"} ${detail}`;
  row.append(what, result);
  document.getElementById("steps").append(row);
}

function status(text) {
  document.getElementById("status").textContent = text;
}

/** A promise with its resolve function, and a deadline. */
function waiter(ms, what) {
  let resolve;
  const promise = new Promise((res, rej) => {
    resolve = res;
    setTimeout(() => rej(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return { promise, resolve };
}

const ownPublication = waiter(5000, "own publication");
const fromPeer = waiter(10000, "publication from the peer");
let echoCalls = 0;

let client = null;
let rpc = null;
try {
  status(`connecting to ${bus} as ${name}…`);
  client = await connect(bus, { name, timeout: 5, webSocket: { token, tokenIn: "query" } });
  show("connect", true, `registered as ${name} over ${bus}`);
  rpc = new RpcClient(client, {
    handlers: {
      onFrame(frame) {
        const text = decoder.decode(frame.payload);
        if (frame.topic === "demo/hello" && frame.sender === name) ownPublication.resolve(text);
        if (frame.topic === "demo/from-deno") fromPeer.resolve({ sender: frame.sender, text });
      },
      onCall(call) {
        if (call.method === "echo") {
          echoCalls++;
          return call.params.slice(); // the parameters as they came
        }
        return undefined;
      },
    },
  });

  await client.subscribe("demo/#", QoS.Processed);
  show("subscribe", true, "demo/#");

  await client.publish("demo/hello", "hello from the browser", QoS.Processed);
  show(
    "publish + receive",
    (await ownPublication.promise) === "hello from the browser",
    "demo/hello came back",
  );

  const tested = await brokerTest(rpc);
  show(".broker test (RPC)", tested === true, `reply: ${tested}`);

  if (peer !== null) {
    const reply = await rpc.call(peer, "greet", { from: name });
    const greeting = reply.unpack();
    results.peerReply = greeting;
    show(`RPC call ${peer}.greet`, typeof greeting === "string", JSON.stringify(greeting));
    await client.publish("demo/ready", name, QoS.Processed);
    const message = await fromPeer.promise;
    results.fromPeer = message;
    show(`message from ${message.sender}`, true, message.text);
  }
  results.echoCalls = echoCalls;
  results.ok = Object.values(results.steps).every((s) => s.ok);
  status(results.ok ? "all steps passed" : "some steps failed");
} catch (err) {
  results.error = String(err?.message ?? err);
  show("error", false, results.error);
  status("failed");
} finally {
  if (client !== null && client.isConnected()) {
    await client.publish(reportTopic, JSON.stringify(results), QoS.Processed).catch(() => {});
  }
  document.body.dataset.done = results.ok ? "ok" : "failed";
}
