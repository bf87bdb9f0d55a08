import type { Dispatcher } from 'undici';
import type { ChutesSettings } from '../context';
import type { Logger } from '../../log/logger';

/**
 * The one dispatcher all upstream HTTP goes through: a keep-alive Agent, or a cassette replay
 * (--replay), or a recorder around the real network (--record). No other code knows which.
 */
export function createUpstreamDispatcher(options: ChutesSettings, log: Logger): { dispatcher: Dispatcher; close: () => Promise<void> } {
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
  const { Agent } = require('./undici-agent') as typeof import('./undici-agent');
  // No cap on connections per origin: concurrent streams must not queue behind each other.
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 300_000, allowH2: false });
  return { dispatcher: agent, close: () => agent.close() };
}
