/**
 * The access-control hook the broker consults per operation. The AAA model
 * implements it; a listener without AAA passes `null` and nothing is checked.
 *
 * @module
 */

/** Per-client permissions, fixed when the client connects. */
export interface ClientAcl {
  /**
   * May this client send a direct message to `target`?
   *
   * @param target the target name
   * @returns true when allowed
   */
  allowP2p(target: string): boolean;
  /**
   * May it publish to `topic` (PUBLISH and PUBLISH_FOR)?
   *
   * @param topic the topic
   * @returns true when allowed
   */
  allowPublish(topic: string): boolean;
  /**
   * May it subscribe to the pattern `topic`?
   *
   * @param topic the topic pattern
   * @returns true when allowed
   */
  allowSubscribe(topic: string): boolean;
  /**
   * May it broadcast to `mask`?
   *
   * @param mask the name mask
   * @returns true when allowed
   */
  allowBroadcast(mask: string): boolean;
}

// Where a connecting client comes from: defined by the transport that accepted it.
import type { PeerInfo } from "../transport/acceptor.ts";
export type { PeerInfo };

/**
 * Decides at registration whether a primary name may connect, and with which
 * permissions. Returns null to refuse (the client gets ERR_ACCESS).
 */
export interface AccessPolicy {
  /**
   * The permissions of `primary` connecting from `peer`, or null to refuse.
   *
   * @param primary the primary name of the connecting client
   * @param peer where it connects from
   * @returns its permissions, or `null` to refuse it
   */
  authorize(primary: string, peer: PeerInfo): ClientAcl | null;
}
