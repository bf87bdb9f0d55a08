// chutes-rpc/client: the host side of chutes-rpc for Node programs.
export type { Framing } from '../server/framing/frame-decoder';
export type * from './protocol-types';
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
