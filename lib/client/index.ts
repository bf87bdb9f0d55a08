// chutes-rpc/client: the host side of chutes-rpc for Node programs. The same shape as the Python and
// Go clients (start, call, one typed method per protocol method, chatStream, close, RpcError), with
// HostClient and AdapterProcess underneath for hosts that want the raw messages.
export type { Framing } from '../server/framing/frame-decoder';
export type { MethodMap, ClientNotificationMap, NotificationMap } from '../generated/maps';
export type * from './protocol-types';
export { adapterCommand, singleBinaryPath } from './adapter-command';
export { Client, type ClientOptions, start } from './client';
export type { CallOptions, Params, Result } from './typed-methods';
export { ChatStream } from './chat-stream';
export { ConnectionClosedError } from './connection-closed-error';
export {
  type AdapterStreams,
  type DeltaListener,
  type Disposer,
  HostClient,
  type HostClientOptions,
  type MessageListener,
  type NotificationListener,
  type RequestOptions,
  type SentRequest,
  type WaitOptions,
} from './host-client';
export { isNotification, isResponse, type RpcErrorObject, type RpcId, type RpcMessage } from './message';
export { REQUEST_CANCELLED, RpcError } from './rpc-error';
export { type AdapterExit, AdapterProcess, spawnAdapter, type SpawnAdapterOptions } from './spawn';
