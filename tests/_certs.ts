/**
 * Test certificates generated at run time with `openssl` into a temporary
 * directory (no private key is ever committed): a CA, a server certificate
 * for `localhost`/127.0.0.1, and X.509 v3 client certificates with the
 * clientAuth extended key usage.
 *
 * @module
 */

/** PEM text of a certificate and its key, and the files holding them. */
export interface CertPair {
  cert: string;
  key: string;
  certFile: string;
  keyFile: string;
}

/** Everything the TLS tests need. */
export interface TestPki {
  dir: string;
  ca: CertPair;
  server: CertPair;
  /** Client certificates by label. */
  clients: Record<string, CertPair>;
  /** A second CA and a client certificate it signed (not trusted by the server). */
  foreignCa: CertPair;
  foreignClient: CertPair;
  /** Removes the directory. */
  remove(): Promise<void>;
}

/** Whether `openssl` can be run. */
export async function hasOpenssl(): Promise<boolean> {
  try {
    const out = await new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** `openssl req` options creating a new unencrypted P-256 key in `keyFile`. */
function newKeyOptions(keyFile: string): string[] {
  return ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", keyFile];
}

/** Reads back the PEM files of a certificate and its key. */
async function readPair(certFile: string, keyFile: string): Promise<CertPair> {
  return {
    cert: await Deno.readTextFile(certFile),
    key: await Deno.readTextFile(keyFile),
    certFile,
    keyFile,
  };
}

async function makeCa(dir: string, label: string): Promise<CertPair> {
  const keyFile = `${dir}/${label}.key`;
  const certFile = `${dir}/${label}.crt`;
  await openssl([
    "req",
    "-x509",
    ...newKeyOptions(keyFile),
    "-out",
    certFile,
    "-days",
    "2",
    "-subj",
    `/CN=${label}`,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ], dir);
  return await readPair(certFile, keyFile);
}

async function makeLeaf(
  dir: string,
  ca: CertPair,
  label: string,
  cn: string,
  usage: "serverAuth" | "clientAuth",
  san: string | null,
): Promise<CertPair> {
  const ext = [
    "basicConstraints=CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${usage}`,
  ];
  if (san !== null) ext.push(`subjectAltName=${san}`);
  return await makeSignedCertificate(dir, ca, label, cn, ext);
}

/**
 * A certificate for `cn` signed by `ca`, with the given openssl extension
 * configuration lines (which may add sections, e.g. `subjectAltName=@alt`
 * then `[alt]` and `DNS.1 = x, DNS:alice`: one DNS name holding ", ").
 */
export async function makeSignedCertificate(
  dir: string,
  ca: CertPair,
  label: string,
  cn: string,
  extensionLines: readonly string[],
): Promise<CertPair> {
  const keyFile = `${dir}/${label}.key`;
  const certFile = `${dir}/${label}.crt`;
  const csrFile = `${dir}/${label}.csr`;
  const extFile = `${dir}/${label}.ext`;
  await Deno.writeTextFile(extFile, extensionLines.join("\n") + "\n");
  await openssl([
    "req",
    ...newKeyOptions(keyFile),
    "-out",
    csrFile,
    "-subj",
    `/CN=${cn}`,
  ], dir);
  await openssl([
    "x509",
    "-req",
    "-in",
    csrFile,
    "-CA",
    ca.certFile,
    "-CAkey",
    ca.keyFile,
    "-set_serial",
    String(Math.floor(Math.random() * 1e9)),
    "-out",
    certFile,
    "-days",
    "2",
    "-extfile",
    extFile,
  ], dir);
  return await readPair(certFile, keyFile);
}

/**
 * Generates the test PKI. Client labels: `app` (CN app), `other` (CN other),
 * `san` (CN "unrelated", DNS SAN `svc.alt`).
 */
export async function makeTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "busrt-pki-" });
  const ca = await makeCa(dir, "ca");
  const server = await makeLeaf(dir, ca, "server", "localhost", "serverAuth", "DNS:localhost,IP:127.0.0.1");
  const clients: Record<string, CertPair> = {
    app: await makeLeaf(dir, ca, "client-app", "app", "clientAuth", null),
    other: await makeLeaf(dir, ca, "client-other", "other", "clientAuth", null),
    san: await makeLeaf(dir, ca, "client-san", "unrelated", "clientAuth", "DNS:svc.alt"),
  };
  const foreignCa = await makeCa(dir, "foreign-ca");
  const foreignClient = await makeLeaf(dir, foreignCa, "foreign-app", "app", "clientAuth", null);
  return {
    dir,
    ca,
    server,
    clients,
    foreignCa,
    foreignClient,
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}
