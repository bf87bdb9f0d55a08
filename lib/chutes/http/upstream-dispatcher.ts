import type { Dispatcher } from 'undici';
import type { ChutesSettings } from '../context';
import type { Logger } from '../../log/logger';
import type { ConnectionAhead } from './connection-ahead';

/**
 * How long an idle keep-alive socket to the upstream is kept: as long as the server's Keep-Alive
 * hint says it keeps it (less undici's 2 s margin), at most MAX_IDLE_SOCKET_MS; IDLE_SOCKET_MS when
 * it gives none.
 */
export const IDLE_SOCKET_MS = 4_000;
export const MAX_IDLE_SOCKET_MS = 60_000;

/**
 * The largest response head accepted: Node's default (--max-http-header-size), given here so that
 * undici does not load node:http to read it (scripts/bundle-serve.js).
 */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The one dispatcher all upstream HTTP goes through: a keep-alive Agent, or a cassette replay
 * (--replay), or a recorder around the real network (--record). No other code knows which.
 */
export function createUpstreamDispatcher(
  options: ChutesSettings,
  log: Logger,
  ahead?: ConnectionAhead,
): { dispatcher: Dispatcher; close: () => Promise<void> } {
  if (options.replay) {
    const { replayDispatcher } = require('../cassette/replay') as typeof import('../cassette/replay');
    const agent = replayDispatcher(options.replay);
    log.debug(`replaying upstream traffic from ${options.replay}`);
    return { dispatcher: agent, close: () => agent.close() };
  }
  if (options.record) {
    const { recordingDispatcher } = require('../cassette/record') as typeof import('../cassette/record');
    log.info(`recording upstream traffic to ${options.record}`);
    return recordingDispatcher(options.record);
  }
  const { Agent, buildConnector } = require('./undici-agent') as typeof import('./undici-agent');
  // No cap on connections per origin: concurrent streams must not queue behind each other. An idle
  // socket is kept as long as the server says it keeps it, up to a minute: a host that pauses
  // between calls (a tool runs, the user reads) then reuses its connection instead of paying a TLS
  // handshake every few seconds. A burst's descriptors go once the server would drop them anyway;
  // without a hint, after a few seconds.
  const agent = new Agent({
    keepAliveTimeout: IDLE_SOCKET_MS,
    keepAliveMaxTimeout: MAX_IDLE_SOCKET_MS,
    allowH2: false,
    maxHeaderSize: MAX_HEADER_BYTES,
    ...(ahead ? { connect: connectorTaking(ahead, buildConnector({ allowH2: false })) } : {}),
  });
  return { dispatcher: agent, close: () => agent.close() };
}

/**
 * undici's connector, starting TLS on the connection opened ahead (http/connection-ahead.ts) when
 * it has it, once that connection's host name is looked up (the other connections wait as long);
 * one that failed meanwhile is left aside for a connection of undici's own, which reports why.
 */
function connectorTaking(
  ahead: ConnectionAhead,
  connect: ReturnType<typeof import('undici').buildConnector>,
): ReturnType<typeof import('undici').buildConnector> {
  return (opts, callback) => {
    const taken = opts.protocol === 'https:' && !opts.httpSocket ? ahead.take(opts.hostname, Number(opts.port || 443)) : undefined;
    const wait = taken?.addressed ?? ahead.waiting;
    if (!wait) return connect(opts, callback);
    wait
      .then(() => connect(taken && !taken.socket.destroyed ? { ...opts, httpSocket: taken.socket } : opts, callback))
      .catch((err: Error) => callback(err, null));
  };
}
