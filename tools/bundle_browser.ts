/**
 * `deno task bundle:browser`: bundles `browser.ts` (the WebSocket client and
 * the RPC layer) into one ES module for web pages, `dist/busrt.browser.js`,
 * with esbuild from npm (pinned in `deno.json`). Deno's import map (`deno.json` "imports") is
 * followed: a bare specifier mapped to `npm:NAME@VERSION` resolves to the
 * package in Deno's npm cache (`deno cache` fills it). `node:` modules stay
 * external: the browser path never loads them (only the TLS dialer does,
 * lazily).
 *
 * Run: deno run --allow-read --allow-write --allow-env --allow-run tools/bundle_browser.ts [--output FILE] [--minify]
 *
 * @module
 */
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";

const ROOT = new URL("../", import.meta.url).pathname;

/** Options of {@linkcode bundleBrowser}. */
export interface BundleOptions {
  /** The file to write. Default `dist/busrt.browser.js` under the project root. */
  output?: string;
  /** Minify the bundle. Default false. */
  minify?: boolean;
}

/** What was built. */
export interface BundleResult {
  /** The file written. */
  output: string;
  /** Its size in bytes. */
  bytes: number;
  /** The modules of this project that went into it (paths relative to the root). */
  modules: string[];
}

interface DenoInfo {
  npmCache?: string;
  denoDir?: string;
}

/** Deno's npm cache directory, as `deno info --json` reports it. */
async function npmCacheDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as DenoInfo;
  if (info.npmCache !== undefined) return info.npmCache;
  if (info.denoDir !== undefined) return `${info.denoDir}/npm`;
  throw new Error("Cannot bundle: deno info does not name the npm cache");
}

/** `npm:NAME@VERSION[/sub]` split up, or null. */
function npmSpecifier(target: string): { name: string; version: string; sub: string } | null {
  const m = /^npm:(@[^/@]+\/[^/@]+|[^/@]+)@([^/]+)(\/.*)?$/.exec(target);
  return m === null ? null : { name: m[1], version: m[2], sub: m[3] ?? "" };
}

/** Resolves import-map entries that point at npm packages to Deno's npm cache. */
function denoImportMapPlugin(imports: Record<string, string>, npmCache: string): esbuild.Plugin {
  return {
    name: "deno-import-map",
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith("node:")) return { path: args.path, external: true };
        const target = args.path.startsWith("npm:") ? args.path : imports[args.path];
        if (target === undefined) return undefined;
        const npm = npmSpecifier(target);
        if (npm === null) return { errors: [{ text: `cannot bundle "${args.path}" (maps to "${target}")` }] };
        const dir = `${npmCache}/registry.npmjs.org/${npm.name}/${npm.version}`;
        try {
          await Deno.stat(`${dir}/package.json`);
        } catch {
          return {
            errors: [{
              text: `${npm.name}@${npm.version} is not in Deno's npm cache: run deno cache mod.ts`,
            }],
          };
        }
        // esbuild reads the package's own package.json (exports, browser and module fields)
        const resolved = await build.resolve(`./${npm.sub === "" ? "" : npm.sub.slice(1)}`, {
          kind: args.kind,
          resolveDir: dir,
        });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        return { path: resolved.path };
      });
    },
  };
}

/**
 * Bundles `browser.ts` for browsers.
 *
 * @param options where to write, and whether to minify
 * @returns the file written, its size and the project modules in it
 */
export async function bundleBrowser(options: BundleOptions = {}): Promise<BundleResult> {
  const output = options.output ?? `${ROOT}dist/busrt.browser.js`;
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`)) as {
    imports?: Record<string, string>;
  };
  const npmCache = await npmCacheDir();
  try {
    const result = await esbuild.build({
      entryPoints: [`${ROOT}browser.ts`],
      bundle: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      outfile: output,
      minify: options.minify ?? false,
      metafile: true,
      logLevel: "warning",
      legalComments: "inline",
      banner: {
        js: "// busrt for Deno: the browser build (WebSocket client and RPC layer); generated, do not edit",
      },
      plugins: [denoImportMapPlugin(config.imports ?? {}, npmCache)],
    });
    const modules = Object.keys(result.metafile.inputs)
      .map((p) => p.startsWith(ROOT) ? p.slice(ROOT.length) : p)
      .filter((p) => !p.includes("registry.npmjs.org"))
      .sort();
    const bytes = (await Deno.stat(output)).size;
    return { output, bytes, modules };
  } finally {
    await esbuild.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { output: { type: "string" }, minify: { type: "boolean" } },
  });
  const result = await bundleBrowser({ output: values.output, minify: values.minify });
  console.log(`${result.output}: ${result.bytes} bytes, ${result.modules.length} project modules`);
}
