/**
 * The bearer token of a WebSocket listener: taken from the
 * `Authorization: Bearer …` header, or from a `token` query parameter
 * (browsers cannot set headers on a WebSocket), and compared in constant
 * time (both sides are hashed with SHA-256 first, so neither the content
 * nor the length of the expected token shows in the timing).
 *
 * @example Check a request
 * ```ts
 * import assert from "node:assert/strict";
 * import { TokenCheck } from "./ws_token.ts";
 * const check = await TokenCheck.of("s3cret");
 * const url = "http://127.0.0.1/";
 * assert.ok(await check.admits(new Request(url, { headers: { Authorization: "Bearer s3cret" } })));
 * assert.ok(await check.admits(new Request(`${url}?token=s3cret`)));
 * assert.ok(!(await check.admits(new Request(url, { headers: { Authorization: "Bearer guess" } }))));
 * assert.ok(!(await check.admits(new Request(url))));
 * ```
 *
 * @module
 */

/** The query parameter that carries the token when no header can. */
export const TOKEN_QUERY_PARAMETER = "token";

const BEARER = /^Bearer[ \t]+(.+)$/i;
const encoder = new TextEncoder();

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)));
}

/**
 * The token a request presents: the bearer token of its `Authorization`
 * header, else its `token` query parameter, else null.
 *
 * @param request the upgrade request
 * @returns the token, or null
 */
export function presentedToken(request: Request): string | null {
  const header = request.headers.get("authorization");
  if (header !== null) {
    const m = BEARER.exec(header.trim());
    if (m !== null) return m[1];
  }
  return new URL(request.url).searchParams.get(TOKEN_QUERY_PARAMETER);
}

/** A configured token, ready to check requests against. */
export class TokenCheck {
  readonly #digest: Uint8Array;

  private constructor(digest: Uint8Array) {
    this.#digest = digest;
  }

  /**
   * Prepares the check of `token`.
   *
   * @param token the expected token (not empty)
   * @returns the check
   * @throws {TypeError} for an empty token
   */
  static async of(token: string): Promise<TokenCheck> {
    if (typeof token !== "string" || token.length === 0) {
      throw new TypeError("Invalid WebSocket token: must be a non-empty string");
    }
    return new TokenCheck(await sha256(token));
  }

  /**
   * Whether the request presents the token.
   *
   * @param request the upgrade request
   * @returns true when its token equals the expected one
   */
  async admits(request: Request): Promise<boolean> {
    const token = presentedToken(request);
    const digest = await sha256(token ?? "");
    let diff = token === null ? 1 : 0;
    for (let i = 0; i < digest.length; i++) diff |= digest[i] ^ this.#digest[i];
    return diff === 0;
  }
}
