import type { ChatStatus } from '../../generated/types';
import type { ChutesContext } from '../context';
import type { Credential } from '../credentials';
import { ChutesError } from '../errors';
import { e2eeApiBase } from '../e2ee/chute-target';
import { requestHeaders } from '../http/headers';
import { errorFromResponse } from '../http/response-errors';
import { upstreamRequest } from '../http/upstream-request';
import { parseJsonOrUndefined } from '../../util/json';
import { sseEvents } from './sse';

/** The service stops a warm-up stream after this long, hot or not. */
export const MAX_WARMUP_MS = 600_000;

/** The 503 of a chute with no instance running yet: the one a warm-up can cure. */
export function isColdChute(error: ChutesError): boolean {
  return error.data.httpStatus === 503 && /no instances available/i.test(error.data.message);
}

/**
 * GET {apiBase}/chutes/warmup/{chute}: an SSE stream of `{"status":"cold",...}` events until one
 * says "hot" (read as SSE: a JSON parse of the whole body, as the official AI SDK provider does,
 * never sees "hot"). Resolves once hot; throws a ChutesError when the service refuses (402 no
 * balance, 404 not the caller's, 503 disabled) or the stream ends or times out without "hot".
 */
export async function warmUp(
  chutes: ChutesContext,
  opts: {
    chute: string;
    credential: Credential;
    signal: AbortSignal;
    onStatus: (status: Omit<ChatStatus, 'streamId'>) => Promise<void> | void;
    maxMs?: number;
  },
): Promise<void> {
  const config = chutes.requireConfig();
  const path = opts.chute.split('/').map(encodeURIComponent).join('/');
  const url = `${e2eeApiBase(config.baseUrl)}/chutes/warmup/${path}`;
  const started = Date.now();
  const maxMs = opts.maxMs ?? MAX_WARMUP_MS;
  chutes.log.debug(`warm-up: GET ${url}`);
  const res = await upstreamRequest(chutes, {
    method: 'GET',
    url,
    headers: requestHeaders({ configured: [config.headers], bearer: opts.credential.token, own: { accept: 'text/event-stream' } }),
    signal: opts.signal,
    timeouts: { headersMs: config.timeoutMs, idleMs: config.timeoutMs, totalMs: maxMs },
  });
  if (res.status < 200 || res.status >= 300)
    throw errorFromResponse(res.status, res.headers, await res.text(64 * 1024, 'truncate'), { what: `warm-up of ${opts.chute}` });
  await opts.onStatus({ phase: 'warmup', model: opts.chute, message: `${opts.chute} is cold; warming it up`, elapsedMs: 0 });
  for await (const items of sseEvents(res.body)) {
    for (const item of items) {
      const text = item.kind === 'event' ? item.data : item.line;
      const event = parseJsonOrUndefined(text) as { status?: unknown } | undefined;
      const status = typeof event?.status === 'string' ? event.status : undefined;
      if (!status) continue;
      const elapsedMs = Date.now() - started;
      if (status === 'hot') {
        await opts.onStatus({ phase: 'warmup', model: opts.chute, message: `${opts.chute} is hot after ${seconds(elapsedMs)}`, elapsedMs });
        res.body.destroy();
        return;
      }
      await opts.onStatus({
        phase: 'warmup',
        model: opts.chute,
        message: `${opts.chute} is ${status}; warming up (${seconds(elapsedMs)})`,
        elapsedMs,
      });
    }
  }
  throw new ChutesError('model_unavailable', {
    message: `warm-up of ${opts.chute}: the service stopped after ${seconds(Date.now() - started)} without the chute becoming hot`,
    httpStatus: 503,
    retryable: false,
  });
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
