import type { ChutesContext } from '../context';
import type { Credential } from '../credentials';
import { ChutesError } from '../errors';
import { redact } from '../../log/redact';
import { type HeaderBag, requestHeaders } from '../http/headers';
import { errorDetail, errorFromResponse } from '../http/response-errors';
import { upstreamRequest } from '../http/upstream-request';

/** Largest /models body read; the real one is well under 1 MiB. */
export const MAX_MODELS_BODY_BYTES = 8 * 1024 * 1024;
/** Of an error answer only the start is read, for its detail. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** The live list could not be had; the message says why (it becomes the result's warning). */
export class LiveListUnavailable extends Error {
  override readonly name = 'LiveListUnavailable';
}

export interface LiveList {
  /** The raw entries of `data`, unchecked (live-entry.ts reads them). */
  entries: unknown[];
  /** Set when the credential was refused (401) and the list was fetched anonymously. */
  credentialRefused?: string;
}

interface Answer {
  status: number;
  headers: HeaderBag;
  text: string;
}

function describeCredential(c: Credential): string {
  const kind = c.method === 'oauth' ? 'OAuth access token' : 'API key';
  const from = c.profile
    ? ` of profile ${c.profile}`
    : c.source === 'env'
      ? ' from CHUTES_API_KEY'
      : c.source === 'config'
        ? ' from the config'
        : '';
  return `the ${kind}${from}`;
}

/**
 * One GET {baseUrl}/models (with config.headers) through the app's dispatcher (so --replay and --record see it), within
 * config.discoveryTimeoutMs for the whole exchange. The caller's signal aborting rethrows as is
 * (a cancellation, not a fallback); every other failure is a LiveListUnavailable.
 */
async function getOnce(
  app: ChutesContext,
  url: string,
  token: string | null | undefined,
  signal: AbortSignal | undefined,
): Promise<Answer> {
  const timeoutMs = app.config.discoveryTimeoutMs;
  try {
    const res = await upstreamRequest(app, {
      method: 'GET',
      url,
      // A token replaces any configured Authorization header; null (the anonymous retry) drops it.
      headers: requestHeaders({ configured: [app.config.headers], bearer: token, own: { accept: 'application/json' } }),
      ...(signal ? { signal } : {}),
      timeouts: { headersMs: timeoutMs, idleMs: timeoutMs, totalMs: timeoutMs },
    });
    const ok = res.status >= 200 && res.status < 300;
    const text = await (ok ? res.text(MAX_MODELS_BODY_BYTES, 'fail') : res.text(MAX_ERROR_BODY_BYTES, 'truncate'));
    return { status: res.status, headers: res.headers, text };
  } catch (err) {
    if (signal?.aborted || !(err instanceof ChutesError)) throw err;
    throw new LiveListUnavailable(err.message);
  }
}

/**
 * Fetches the live list: with the credential when there is one; a 401 to it is retried once
 * without it (the list is public), noting that the credential was refused.
 */
export async function fetchLiveList(app: ChutesContext, credential: Credential | undefined, signal?: AbortSignal): Promise<LiveList> {
  const url = `${app.config.baseUrl}/models`;
  let answer = await getOnce(app, url, credential?.token, signal);
  let credentialRefused: string | undefined;
  if (answer.status === 401 && credential) {
    const who = describeCredential(credential);
    credentialRefused =
      `${who[0]!.toUpperCase()}${who.slice(1)} was refused (HTTP 401: ${errorDetail(answer.text)}); ` +
      'the model list was fetched without it. Check the key or sign in again.';
    app.log.info(credentialRefused);
    answer = await getOnce(app, url, null, signal);
  }
  if (answer.status < 200 || answer.status >= 300) {
    throw new LiveListUnavailable(errorFromResponse(answer.status, answer.headers, answer.text, { what: `GET ${url}` }).message);
  }
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch (err) {
    const why = redact((err as Error).message).slice(0, 160);
    throw new LiveListUnavailable(`GET ${url}: the answer is not valid JSON (${why})`);
  }
  // {"object":"list","data":[...]} on the wire; a bare array is tolerated.
  const entries = Array.isArray(body) ? body : body && typeof body === 'object' ? (body as { data?: unknown }).data : undefined;
  if (!Array.isArray(entries)) {
    throw new LiveListUnavailable(`GET ${url}: the answer has no data list (expected {"object":"list","data":[...]})`);
  }
  const list: LiveList = { entries };
  if (credentialRefused) list.credentialRefused = credentialRefused;
  return list;
}
