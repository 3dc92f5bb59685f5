/**
 * Installs the peer servers from Debian packages when they are missing.
 *
 * @module
 */

/** Debian package of each peer server binary. */
export const PEER_PACKAGES: Record<string, string> = {
  "nats-server": "nats-server",
  "redis-server": "redis-server",
  "mosquitto": "mosquitto",
};

/** Whether `command` is found on PATH (or in the sbin directories Debian puts servers in). */
export function hasCommand(command: string): boolean {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/local/sbin"]);
  for (const dir of dirs) {
    try {
      if (Deno.statSync(`${dir}/${command}`).isFile) return true;
    } catch {
      // not here
    }
  }
  return false;
}

async function aptGet(args: string[]): Promise<boolean> {
  const out = await new Deno.Command("apt-get", {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) console.error(new TextDecoder().decode(out.stderr).trim());
  return out.success;
}

/**
 * Installs whichever of nats-server, redis-server and mosquitto is missing
 * (`apt-get install`, after an `apt-get update` if the first try fails).
 *
 * @example
 * ```ts ignore
 * await ensurePeerPackages();
 * ```
 */
export async function ensurePeerPackages(): Promise<void> {
  const missing = Object.entries(PEER_PACKAGES).filter(([cmd]) => !hasCommand(cmd)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  console.error(`installing ${missing.join(", ")} with apt-get`);
  const args = ["install", "-y", "-q", "--no-install-recommends", ...missing];
  if (!await aptGet(args) && !(await aptGet(["update", "-q"]) && await aptGet(args))) {
    throw new Error(`Cannot install "${missing.join(" ")}": apt-get failed (run as root, or install them)`);
  }
}
