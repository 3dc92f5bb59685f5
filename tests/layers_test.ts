/**
 * The layering of the product code, checked on the real module graph
 * (`deno info --json`): no import cycle anywhere, and no import that runs up
 * the layers protocol, log ← transport ← client ← broker ← rpc ← bridge ← cli.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/**
 * Layer of each product folder (and root file); a module may import only
 * modules of its own folder or of a lower layer.
 */
const LAYERS: Record<string, number> = {
  "protocol": 0,
  "log": 0,
  "transport": 1,
  "client": 2,
  "broker": 3,
  "rpc": 4,
  "bridge": 5,
  "cli": 6,
  "cli.ts": 7,
  "mod.ts": 7,
  "browser.ts": 7,
};

/** The folder (or root file) a module belongs to, or null outside the product code. */
function unitOf(specifier: string): string | null {
  if (!specifier.startsWith(ROOT.href)) return null;
  const rel = specifier.slice(ROOT.href.length);
  const unit = rel.includes("/") ? rel.slice(0, rel.indexOf("/")) : rel;
  return unit in LAYERS ? unit : null;
}

interface InfoDependency {
  code?: { specifier?: string };
  type?: { specifier?: string };
}
interface InfoModule {
  specifier: string;
  dependencies?: InfoDependency[];
}

/** Every product module with its product imports (values and types alike). */
async function productGraph(): Promise<Map<string, string[]>> {
  const files: string[] = [];
  for (const unit of Object.keys(LAYERS)) {
    const url = new URL(unit, ROOT);
    if (unit.endsWith(".ts")) {
      files.push(url.href);
      continue;
    }
    for await (const entry of Deno.readDir(url)) {
      if (entry.isFile && entry.name.endsWith(".ts")) files.push(new URL(`${unit}/${entry.name}`, ROOT).href);
    }
  }
  const dir = await Deno.makeTempDir();
  try {
    const entry = `${dir}/all.ts`;
    await Deno.writeTextFile(entry, files.map((f) => `import ${JSON.stringify(f)};`).join("\n"));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", new URL("deno.json", ROOT).pathname, entry],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: InfoModule[] };
    const graph = new Map<string, string[]>();
    for (const m of info.modules) {
      if (unitOf(m.specifier) === null) continue;
      const deps = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          if (s !== undefined && unitOf(s) !== null) deps.add(s);
        }
      }
      graph.set(m.specifier, [...deps]);
    }
    assert.ok(graph.size >= files.length, `graph has ${graph.size} of ${files.length} product modules`);
    return graph;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(scc);
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

const short = (s: string) => s.slice(ROOT.href.length);

Deno.test("product modules import no cycle", async () => {
  const found = cycles(await productGraph());
  assert.deepEqual(found.map((scc) => scc.map(short).sort()), []);
});

Deno.test("no product module imports a higher layer (protocol, log ← transport ← client ← broker ← rpc ← bridge ← cli)", async () => {
  const upward: string[] = [];
  for (const [from, deps] of await productGraph()) {
    const a = unitOf(from)!;
    for (const to of deps) {
      const b = unitOf(to)!;
      if (a !== b && LAYERS[b] >= LAYERS[a]) upward.push(`${short(from)} -> ${short(to)}`);
    }
  }
  assert.deepEqual(upward, []);
});

Deno.test("the cycle finder finds a cycle and a self-import", () => {
  const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["d"]], ["e", ["a"]]]);
  assert.deepEqual(cycles(g).map((s) => s.sort()), [["a", "b", "c"], ["d"]]);
});
