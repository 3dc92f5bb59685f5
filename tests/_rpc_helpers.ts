/**
 * Shared helpers of the RPC tests: RPC clients on a test bus and assertions
 * on {@linkcode RpcError} codes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { RpcClient, type RpcClientOptions } from "../rpc/rpc_client.ts";
import { RpcError } from "../rpc/rpc_error.ts";
import type { TestBus } from "./_helpers.ts";

/** An RPC client over an IPC connection to the test bus (closed with the bus). */
export async function ipcRpc(bus: TestBus, name: string, options: RpcClientOptions = {}): Promise<RpcClient> {
  return new RpcClient(await bus.client(name), options);
}

/** Asserts a promise rejects with an RpcError of `code`; returns the error. */
export async function rejectsWith(promise: Promise<unknown>, code: number): Promise<RpcError> {
  let caught: unknown = null;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RpcError, `expected an RpcError, got ${caught}`);
  assert.equal(caught.code, code, `code of "${caught.message}"`);
  return caught;
}
