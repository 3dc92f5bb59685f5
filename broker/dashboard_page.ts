/**
 * The live dashboard the HTTP monitoring endpoint serves on `GET /`: one
 * self-contained HTML page (no build step, nothing from a CDN) that follows
 * `/api/events` (Server-Sent Events, one snapshot a second), draws the
 * message rates of the last minutes on a canvas and shows the clients a
 * page at a time (`/api/clients?offset=&limit=`), so it stays usable with
 * thousands of clients. It stops its event stream while the tab is hidden.
 *
 * @module
 */

/** The page. The token, if any, is taken from the page's own `?token=`. */
export const DASHBOARD_HTML: string = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>busrt broker</title>
<style>
  :root { color-scheme: light dark; --fg: #1d2230; --muted: #6b7385; --bg: #f6f7fa; --card: #fff;
    --line: #e2e5ec; --in: #2f6fde; --out: #e0762f; }
  @media (prefers-color-scheme: dark) { :root { --fg: #e6e8ee; --muted: #9aa1b1; --bg: #151821;
    --card: #1e222d; --line: #2d3240; } }
  * { box-sizing: border-box; }
  body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
  header { display: flex; gap: 16px; align-items: baseline; padding: 12px 20px; border-bottom: 1px solid var(--line); }
  header h1 { font-size: 18px; margin: 0; }
  #status { color: var(--muted); }
  main { padding: 16px 20px; display: grid; gap: 16px; grid-template-columns: 2fr 1fr; align-items: start; }
  section > table { table-layout: fixed; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
  section h2 { font-size: 14px; margin: 0 0 8px; color: var(--muted); font-weight: 600; }
  .wide { grid-column: 1 / -1; }
  .tiles { display: flex; flex-wrap: wrap; gap: 18px; }
  .tile b { display: block; font-size: 20px; }
  .tile span { color: var(--muted); font-size: 12px; }
  canvas { width: 100%; height: 180px; display: block; }
  .legend span { margin-right: 14px; font-size: 12px; }
  .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  td.n, th.n { text-align: right; }
  td.name { max-width: 320px; overflow: hidden; text-overflow: ellipsis; }
  .scroll { overflow-x: auto; }
  .pager { display: flex; gap: 8px; align-items: center; margin-top: 8px; }
  input { font: inherit; padding: 3px 6px; }
  button { font: inherit; }
</style>
</head>
<body>
<header><h1>busrt broker</h1><span id="status">connecting…</span></header>
<main>
  <section class="wide"><h2>Broker</h2><div class="tiles" id="tiles"></div></section>
  <section>
    <h2>Messages per second (last <span id="span">0</span> s)</h2>
    <canvas id="chart" width="800" height="180"></canvas>
    <div class="legend"><span><i style="background:var(--in)"></i>in (frames/s)</span>
      <span><i style="background:var(--out)"></i>out (frames/s)</span></div>
  </section>
  <section>
    <h2>Queue depths and subscriptions</h2>
    <div class="tiles" id="queues"></div>
    <table><thead><tr><th>topic pattern</th><th class="n">subscribers</th></tr></thead>
      <tbody id="subs"></tbody></table>
  </section>
  <section class="wide">
    <h2>Clients (<span id="total">0</span>)</h2>
    <div class="pager"><input id="filter" placeholder="filter (regex, as client.list)" size="32">
      <button id="prev">◀</button><span id="page"></span><button id="next">▶</button></div>
    <div class="scroll"><table><thead><tr><th>name</th><th>kind</th><th>source</th><th>port</th><th class="n">queue</th>
      <th class="n">queue bytes</th><th class="n">in/s</th><th class="n">out/s</th><th class="n">subs</th>
      <th class="n">instances</th><th>connected since</th></tr></thead><tbody id="clients"></tbody></table></div>
  </section>
</main>
<script>
"use strict";
const PAGE = 50;
const token = new URLSearchParams(location.search).get("token");
const withToken = (path) => token === null ? path : path + (path.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(token);
const $ = (id) => document.getElementById(id);
const fmt = (n) => n >= 1e9 ? (n / 1e9).toFixed(1) + " G" : n >= 1e6 ? (n / 1e6).toFixed(1) + " M" : n >= 1e4 ? (n / 1e3).toFixed(1) + " k" : String(n);
const cell = (text, cls) => { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; return td; };
const state = { points: [], offset: 0, filter: "", source: null, samples: 0, busy: false };
window.dashboard = state;

function tiles(el, items) {
  el.replaceChildren(...items.map(([label, value]) => {
    const d = document.createElement("div"); d.className = "tile";
    const b = document.createElement("b"); b.textContent = value;
    const s = document.createElement("span"); s.textContent = label;
    d.append(b, s); return d;
  }));
}

function draw() {
  const c = $("chart"); const ctx = c.getContext("2d");
  const w = c.width = c.clientWidth * devicePixelRatio; const h = c.height = 180 * devicePixelRatio;
  ctx.clearRect(0, 0, w, h);
  const pts = state.points; if (pts.length < 2) return;
  const max = Math.max(1, ...pts.map((p) => Math.max(p.rates.r_frames, p.rates.w_frames)));
  const t0 = pts[0].t, t1 = pts[pts.length - 1].t, dt = Math.max(1, t1 - t0);
  $("span").textContent = String(Math.round(dt / 1000));
  ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue("--line"); ctx.lineWidth = 1;
  for (let i = 1; i < 4; i++) { const y = h * i / 4; ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke(); }
  ctx.fillStyle = getComputedStyle(document.body).getPropertyValue("--muted");
  ctx.font = (11 * devicePixelRatio) + "px system-ui"; ctx.fillText(fmt(max) + "/s", 4, 12 * devicePixelRatio);
  for (const [key, color] of [["r_frames", "--in"], ["w_frames", "--out"]]) {
    ctx.strokeStyle = getComputedStyle(document.body).getPropertyValue(color); ctx.lineWidth = 2 * devicePixelRatio;
    ctx.beginPath();
    pts.forEach((p, i) => { const x = (p.t - t0) / dt * (w - 2) + 1; const y = h - 2 - p.rates[key] / max * (h - 18 * devicePixelRatio);
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y); });
    ctx.stroke();
  }
}

function showStats(s) {
  tiles($("tiles"), [["uptime (s)", fmt(s.uptime)], ["version", s.version], ["clients", fmt(s.clients.primaries)],
    ["secondaries", fmt(s.clients.secondaries)], ["frames in", fmt(s.r_frames)], ["frames out", fmt(s.w_frames)],
    ["bytes in", fmt(s.r_bytes)], ["bytes out", fmt(s.w_bytes)], ["in/s", fmt(s.rates.r_frames)], ["out/s", fmt(s.rates.w_frames)],
    ["listeners", String(s.listeners.length)]]);
  tiles($("queues"), [["queued frames", fmt(s.queued_frames)], ["queued bytes", fmt(s.queued_bytes)],
    ["subscriptions", fmt(s.subscriptions)], ["topic patterns", fmt(s.topics)]]);
}

async function refreshTables() {
  if (state.busy) return; state.busy = true;
  try {
    const q = "/api/clients?offset=" + state.offset + "&limit=" + PAGE + (state.filter ? "&filter=" + encodeURIComponent(state.filter) : "");
    const res = await fetch(withToken(q));
    if (res.ok) {
      const { clients, total } = await res.json();
      $("total").textContent = String(total);
      $("page").textContent = total === 0 ? "0" : (state.offset + 1) + "–" + Math.min(total, state.offset + PAGE) + " of " + total;
      $("clients").replaceChildren(...clients.map((c) => { const tr = document.createElement("tr");
        tr.append(cell(c.name, "name"), cell(c.kind), cell(c.source ?? ""), cell(c.port ?? ""), cell(fmt(c.queue), "n"),
          cell(fmt(c.queue_bytes), "n"), cell(fmt(c.rates.r_frames), "n"), cell(fmt(c.rates.w_frames), "n"),
          cell(String(c.subscriptions), "n"), cell(String(c.instances), "n"), cell(c.connected_since.replace("T", " ").slice(0, 19)));
        return tr; }));
    }
    const subs = await fetch(withToken("/api/subscriptions?limit=20"));
    if (subs.ok) {
      const { subscriptions } = await subs.json();
      $("subs").replaceChildren(...subscriptions.map((s) => { const tr = document.createElement("tr");
        tr.append(cell(s.topic, "name"), cell(String(s.subscribers), "n")); return tr; }));
    }
  } finally { state.busy = false; }
}

function connect() {
  if (state.source !== null) return;
  const es = new EventSource(withToken("/api/events"));
  state.source = es;
  es.addEventListener("history", (e) => { state.points = JSON.parse(e.data); draw(); });
  es.addEventListener("stats", (e) => {
    const { stats, point } = JSON.parse(e.data);
    state.samples++;
    $("status").textContent = stats.closing ? "shutting down" : "live · " + new Date(point.t).toLocaleTimeString();
    state.points.push(point); if (state.points.length > 300) state.points.shift();
    showStats(stats); draw(); refreshTables();
  });
  es.onerror = () => { $("status").textContent = "disconnected, retrying…"; };
}

function disconnect() {
  if (state.source === null) return;
  state.source.close(); state.source = null;
  $("status").textContent = "paused (tab hidden)";
}

document.addEventListener("visibilitychange", () => document.visibilityState === "hidden" ? disconnect() : connect());
$("prev").onclick = () => { state.offset = Math.max(0, state.offset - PAGE); refreshTables(); };
$("next").onclick = () => { const total = Number($("total").textContent); if (state.offset + PAGE < total) { state.offset += PAGE; refreshTables(); } };
$("filter").oninput = (e) => { state.filter = e.target.value; state.offset = 0; refreshTables(); };
addEventListener("resize", draw);
if (document.visibilityState !== "hidden") connect();
refreshTables();
</script>
</body>
</html>
`;
