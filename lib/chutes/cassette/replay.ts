import { type Dispatcher, MockAgent } from 'undici';
import type { Cassette } from '../../generated/types';
import { bodyMatches, readCassette, responseBodyText } from './cassette-file';
import { describeMismatch } from './replay-mismatch';
import { PACING_HEADER, pacedReplay } from './replay-pacing';

const NOT_MATCHED = 'UND_MOCK_ERR_MOCK_NOT_MATCHED';

/** What network-errors.ts reports for a request the cassette does not answer. */
export interface ReplayMismatch {
  code: typeof NOT_MATCHED;
  message: string;
  /** Which recorded requests exist for that URL and how this one differs. */
  replayDetail: string;
}

export const REPLAY_MISMATCH_RESOLUTION =
  'Replay answers only what the cassette recorded: change the request to match a recorded one, or record it (--record FILE) or add an interaction for it (docs/cassettes.md).';

/** A dispatcher that answers every request from a cassette and lets nothing reach the network. */
export function replayDispatcher(file: string): Dispatcher {
  const cassette = readCassette(file);
  const agent = new MockAgent();
  agent.disableNetConnect();
  for (const { request, response, repeat } of cassette.interactions) {
    const url = new URL(request.url);
    const expectedBody = request.body;
    const scope = agent
      .get(url.origin)
      .intercept({
        path: url.pathname + url.search,
        method: request.method ?? 'GET',
        ...(expectedBody === undefined ? {} : { body: (actual: string) => bodyMatches(expectedBody, actual) }),
      })
      .reply(response.status, responseBodyText(response), {
        headers: {
          ...(response.headers ?? {}),
          ...(response.eventIntervalMs ? { [PACING_HEADER]: String(response.eventIntervalMs) } : {}),
        },
      });
    if (response.delayMs) scope.delay(response.delayMs);
    if (repeat === true) scope.persist();
    else if (typeof repeat === 'number') scope.times(repeat);
  }
  return agent.compose(pacedReplay(), explainMismatches(cassette));
}

/** Turns undici's "Mock dispatch not matched" into a ReplayMismatch that says what the cassette has instead. */
function explainMismatches(cassette: Cassette): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const explain = (err: Error): Error => {
      if ((err as { code?: unknown }).code !== NOT_MATCHED) return err;
      const url = new URL(opts.path, opts.origin);
      const body = typeof opts.body === 'string' ? opts.body : Buffer.isBuffer(opts.body) ? opts.body.toString('utf8') : undefined;
      const mismatch: ReplayMismatch = {
        code: NOT_MATCHED,
        message: err.message,
        replayDetail: describeMismatch(cassette, { method: opts.method, url, ...(body === undefined ? {} : { body }) }),
      };
      return Object.assign(new Error(err.message, { cause: err }), mismatch);
    };
    const h = handler as Dispatcher.DispatchHandler & {
      onError?: (err: Error) => void;
      onResponseError?: (controller: unknown, err: Error) => void;
    };
    const wrapped = new Proxy(h, {
      get(target, prop) {
        if (prop === 'onError' && target.onError) return (err: Error) => target.onError!(explain(err));
        if (prop === 'onResponseError' && target.onResponseError) {
          return (controller: unknown, err: Error) => target.onResponseError!(controller, explain(err));
        }
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return dispatch(opts, wrapped);
  };
}
