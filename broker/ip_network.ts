/**
 * IPv4 and IPv6 addresses and CIDR networks for the AAA host check. A v4
 * network never contains a v6 address (IPv4-mapped ones included) and vice
 * versa, as in the reference broker.
 *
 * @module
 */

/** A parsed IP address: 4 bytes for IPv4, 16 for IPv6. */
export interface IpAddress {
  /** 4 or 6. */
  family: 4 | 6;
  /** Address bytes, network order. */
  bytes: Uint8Array;
}

/**
 * Parses an IPv4 or IPv6 address. Brackets (`[::1]`) and an IPv6 zone
 * (`fe80::1%eth0`) are accepted and ignored. Returns null for anything else.
 *
 * @example IPv4, IPv4-mapped IPv6, and a host name
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseIp } from "./ip_network.ts";
 * assert.equal(parseIp("127.0.0.1")?.family, 4);
 * assert.equal(parseIp("::ffff:127.0.0.1")?.family, 6);
 * assert.equal(parseIp("localhost"), null);
 * ```
 *
 * @param text the address text
 * @returns the address, or `null`
 */
export function parseIp(text: string): IpAddress | null {
  let s = text;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  if (s.includes(":")) {
    const zone = s.indexOf("%");
    if (zone !== -1) s = s.slice(0, zone);
    const bytes = parseIpv6(s);
    return bytes === null ? null : { family: 6, bytes };
  }
  const bytes = parseIpv4(s);
  return bytes === null ? null : { family: 4, bytes };
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    // leading zeros are refused: "010" means 8 to some parsers and 10 to others
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | null {
  const out = new Uint8Array(16);
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 2 ? (halves[1] === "" ? [] : halves[1].split(":")) : [];
  const groups: number[] = [];
  const parseGroups = (list: string[], isLast: boolean): number[] | null => {
    const words: number[] = [];
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (isLast && i === list.length - 1 && g.includes(".")) {
        const v4 = parseIpv4(g);
        if (v4 === null) return null;
        words.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        words.push(parseInt(g, 16));
      }
    }
    return words;
  };
  const headWords = parseGroups(head, halves.length === 1);
  const tailWords = parseGroups(tail, true);
  if (headWords === null || tailWords === null) return null;
  if (halves.length === 1) {
    if (headWords.length !== 8) return null;
    groups.push(...headWords);
  } else {
    const missing = 8 - headWords.length - tailWords.length;
    if (missing < 1) return null;
    groups.push(...headWords, ...new Array<number>(missing).fill(0), ...tailWords);
  }
  for (let i = 0; i < 8; i++) {
    out[i * 2] = groups[i] >> 8;
    out[i * 2 + 1] = groups[i] & 0xff;
  }
  return out;
}

/**
 * An IPv4 or IPv6 CIDR network, e.g. `10.0.0.0/8`, `127.0.0.1` (a /32) or
 * `fd00::/8`. Host bits after the prefix are ignored, as by the reference.
 *
 * @example An IPv4 network does not contain IPv6 addresses
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpNetwork } from "./ip_network.ts";
 * const lan = IpNetwork.parse("192.168.0.0/16");
 * assert.ok(lan.contains("192.168.1.20"));
 * assert.ok(!lan.contains("::ffff:192.168.1.20"));
 * assert.throws(() => IpNetwork.parse("192.168.0.0/33"), TypeError);
 * ```
 */
export class IpNetwork {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Network bytes with host bits cleared. */
  readonly bytes: Uint8Array;
  /** Prefix length in bits. */
  readonly prefix: number;

  /**
   * Creates a network from an address and a prefix length.
   *
   * @param address the address
   * @param prefix the prefix length in bits
   */
  constructor(address: IpAddress, prefix: number) {
    const bits = address.family === 4 ? 32 : 128;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) {
      throw new RangeError(`Invalid prefix length "${prefix}": must be 0 to ${bits}`);
    }
    this.family = address.family;
    this.prefix = prefix;
    this.bytes = address.bytes.slice();
    for (let i = 0; i < this.bytes.length; i++) this.bytes[i] &= maskByte(prefix, i);
  }

  /**
   * Parses `address/prefix` or a bare address (full-length prefix).
   *
   * @param text the network text
   * @returns the network
   * @throws {TypeError} when the text is not a network
   */
  static parse(text: string): IpNetwork {
    const slash = text.indexOf("/");
    const addrText = slash === -1 ? text : text.slice(0, slash);
    const address = addrText.startsWith("[") ? null : parseIp(addrText);
    if (address === null || addrText.includes("%")) {
      throw new TypeError(
        `Invalid network "${text}": expected an IPv4 or IPv6 address with an optional /prefix`,
      );
    }
    const bits = address.family === 4 ? 32 : 128;
    let prefix = bits;
    if (slash !== -1) {
      const p = text.slice(slash + 1);
      if (!/^\d{1,3}$/.test(p) || Number(p) > bits) {
        throw new TypeError(`Invalid network "${text}": prefix length must be 0 to ${bits}`);
      }
      prefix = Number(p);
    }
    return new IpNetwork(address, prefix);
  }

  /**
   * Whether `ip` (text or parsed) is inside this network; unparsable text is not.
   *
   * @param ip the address, as text or parsed
   * @returns true when inside
   */
  contains(ip: string | IpAddress): boolean {
    const addr = typeof ip === "string" ? parseIp(ip) : ip;
    if (addr === null || addr.family !== this.family) return false;
    for (let i = 0; i < this.bytes.length; i++) {
      if ((addr.bytes[i] & maskByte(this.prefix, i)) !== this.bytes[i]) return false;
    }
    return true;
  }

  /** `address/prefix` in canonical form. */
  toString(): string {
    if (this.family === 4) return `${this.bytes.join(".")}/${this.prefix}`;
    const words: string[] = [];
    for (let i = 0; i < 16; i += 2) words.push(((this.bytes[i] << 8) | this.bytes[i + 1]).toString(16));
    return `${compressIpv6(words)}/${this.prefix}`;
  }
}

function maskByte(prefix: number, index: number): number {
  const bits = prefix - index * 8;
  if (bits >= 8) return 0xff;
  if (bits <= 0) return 0;
  return (0xff << (8 - bits)) & 0xff;
}

function compressIpv6(words: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best === -1) return words.join(":");
  return `${words.slice(0, best).join(":")}::${words.slice(best + bestLen).join(":")}`;
}
