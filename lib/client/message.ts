/* eslint-disable @typescript-eslint/no-explicit-any -- payloads are whatever the peer sent; request<R>() and the
   generated types give them a type at the call site. */

export type RpcId = string | number;

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: any;
}

/**
 * One JSON-RPC 2.0 message: a request (method and id), a notification (method, no id) or a
 * response (id, and result or error). Payloads are whatever the peer sent, so they stay untyped
 * here; HostClient.request<R>() types a result at the call site.
 */
export interface RpcMessage {
  jsonrpc: '2.0';
  id?: RpcId | null;
  method?: string;
  params?: any;
  result?: any;
  error?: RpcErrorObject;
}

export function isResponse(msg: RpcMessage): boolean {
  return msg.method === undefined && msg.id !== undefined;
}

export function isNotification(msg: RpcMessage): boolean {
  return msg.method !== undefined && msg.id === undefined;
}

/** A request or notification ready to write: `params` is left out when there are none. */
export function outgoing(method: string, params: unknown, id?: RpcId): RpcMessage {
  const msg: RpcMessage = id === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', id, method };
  if (params !== undefined) msg.params = params;
  return msg;
}
