/**
 * What a TLS client certificate proves, read from its DER encoding
 * (`TLSSocket.getPeerCertificate().raw`) with the X.509 parser of `pkijs`:
 * the subject CN(s) and the DNS subject-alternative names, each exactly as
 * encoded, and whether it is a CA certificate.
 *
 * Never from Node's display text: `subjectaltname` is one string that joins
 * the names with ", " (unquoted in Deno), so a single DNS name
 * `x, DNS:alice` would read as two names, `x` and `alice`.
 *
 * `pkijs` is loaded on first use: brokers without client certificates never
 * load it.
 *
 * @example Read a certificate made by openssl (needs `openssl`)
 * ```ts ignore
 * import { loadCertificateReader } from "./client_certificate.ts";
 * const read = await loadCertificateReader();
 * const der = await Deno.readFile("client.der");
 * console.log(read(der)); // { names: ["app", "app.local"], isCa: false }
 * ```
 *
 * @module
 */

/** What a client certificate proves. */
export interface CertificateIdentity {
  /** Subject CN(s) first, then the DNS subject-alternative names, as encoded. */
  names: string[];
  /** Whether its basic constraints say CA:TRUE: such a certificate never names a client. */
  isCa: boolean;
}

/**
 * Reads a DER certificate. Returns no names (and `isCa` false) for bytes
 * that are not a certificate.
 */
export type CertificateReader = (der: Uint8Array) => CertificateIdentity;

const OID_COMMON_NAME = "2.5.4.3";
const OID_SUBJECT_ALT_NAME = "2.5.29.17";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
/** GeneralName CHOICE tag of `dNSName`. */
const GENERAL_NAME_DNS = 2;

/** Text of an ASN.1 string value (`Utf8String`, `PrintableString`, `BmpString`…), or null. */
function stringValue(value: unknown): string | null {
  const block = (value as { valueBlock?: { value?: unknown } } | null)?.valueBlock;
  return typeof block?.value === "string" ? block.value : null;
}

/**
 * Loads `pkijs` and returns the certificate reader.
 *
 * @returns a function reading the identity of a DER certificate
 */
export async function loadCertificateReader(): Promise<CertificateReader> {
  const { AltName, BasicConstraints, Certificate } = await import("pkijs");
  return (der: Uint8Array): CertificateIdentity => {
    let cert: InstanceType<typeof Certificate>;
    try {
      cert = Certificate.fromBER(new Uint8Array(der)); // a copy on a plain ArrayBuffer
    } catch {
      return { names: [], isCa: false };
    }
    const names: string[] = [];
    for (const attribute of cert.subject.typesAndValues) {
      if (attribute.type !== OID_COMMON_NAME) continue;
      const cn = stringValue(attribute.value);
      if (cn !== null) names.push(cn);
    }
    let isCa = false;
    for (const extension of cert.extensions ?? []) {
      const parsed: unknown = extension.parsedValue;
      if (extension.extnID === OID_SUBJECT_ALT_NAME && parsed instanceof AltName) {
        for (const name of parsed.altNames) {
          if (name.type === GENERAL_NAME_DNS && typeof name.value === "string") names.push(name.value);
        }
      } else if (extension.extnID === OID_BASIC_CONSTRAINTS && parsed instanceof BasicConstraints) {
        isCa = parsed.cA === true;
      }
    }
    return { names, isCa };
  };
}
