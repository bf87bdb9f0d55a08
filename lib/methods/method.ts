import type { ChutesContext } from '../chutes/context';
import type { MethodMap, MethodName, NotificationMap, NotificationName } from '../generated/maps';
import type { RequestId } from '../server/inbound-gate';
import type { ServerControl } from '../server/server';

export interface CallContext {
  /** The JSON-RPC id of the request. */
  id: RequestId;
  /** Aborted by $/cancelRequest, end of input, SIGTERM or SIGINT. */
  signal: AbortSignal;
  /** Sends a notification: nothing while the output has room, else a promise to await (backpressure). */
  notify<N extends NotificationName>(method: N, params: NotificationMap[N]): Promise<void> | undefined;
  /** Undefined while the output has room; else a promise that resolves once it has (see ServerControl). */
  outputRoom(): Promise<void> | undefined;
  chutes: ChutesContext;
  server: ServerControl;
}

export type MethodHandler<M extends MethodName> = (
  params: MethodMap[M]['params'],
  ctx: CallContext,
) => Promise<MethodMap[M]['result']> | MethodMap[M]['result'];

export interface MethodSpec<M extends MethodName = MethodName> {
  name: M;
  /** Answer config_invalid before running when the config file is invalid. */
  needsConfig: boolean;
  /** Makes requests to the upstream: its network modules are loaded first (ChutesContext.loadNetworkModules). */
  reachesUpstream: boolean;
  handler: MethodHandler<M>;
}

/** A method of the protocol: params and result types come from its schema by name. */
export function defineMethod<M extends MethodName>(
  name: M,
  handler: MethodHandler<M>,
  opts: { needsConfig?: boolean; reachesUpstream?: boolean } = {},
): MethodSpec<M> {
  return { name, needsConfig: opts.needsConfig ?? false, reachesUpstream: opts.reachesUpstream ?? false, handler };
}
