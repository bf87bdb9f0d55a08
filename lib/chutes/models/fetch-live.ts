import { type Dispatcher, request } from 'undici';
import type { ChutesContext } from '../context';
import type { Credential } from '../credentials';
import { redact } from '../../log/redact';
import { errorDetail, errorFromNetwork, errorFromResponse } from '../http-errors';

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
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

type Body = Dispatcher.ResponseData['body'];

async function readCapped(body: Body, max: number, what: string, truncate: boolean): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      body.destroy();
      if (truncate) {
        chunks.push(chunk.subarray(0, chunk.length - (size - max)));
        break;
      }
      throw new LiveListUnavailable(`${what}: the answer is larger than ${Math.round(max / (1024 * 1024))} MiB`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeCredential(c: Credential): string {
  const kind = c.method === 'oauth' ? 'OAuth access token' : 'API key';
  const from = c.profile ? ` of profile ${c.profile}` : c.source === 'env' ? ' from CHUTES_API_KEY' : c.source === 'config' ? ' from the config' : '';
  return `the ${kind}${from}`;
}

/**
 * One GET {baseUrl}/models (with config.headers) through the app's dispatcher (so --replay and --record see it), within
 * config.discoveryTimeoutMs for the whole exchange. The caller's signal aborting rethrows as is
 * (a cancellation, not a fallback); every other failure is a LiveListUnavailable.
 */
async function getOnce(app: ChutesContext, url: string, token: string | null | undefined, signal: AbortSignal | undefined): Promise<Answer> {
  const timeoutMs = app.config.discoveryTimeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(app.config.headers)) headers[k.toLowerCase()] = v;
  headers.accept = 'application/json';
  // A token replaces any configured Authorization header; null (the anonymous retry) drops it.
  if (token) headers.authorization = `Bearer ${token}`;
  else if (token === null) delete headers.authorization;
  const what = `GET ${url}`;
  try {
    const res = await request(url, {
      method: 'GET',
      headers,
      dispatcher: app.http,
      signal: combined,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const ok = res.statusCode >= 200 && res.statusCode < 300;
    const declared = Number(res.headers['content-length']);
    if (ok && declared > MAX_MODELS_BODY_BYTES) {
      res.body.destroy();
      throw new LiveListUnavailable(`${what}: the answer is larger than ${MAX_MODELS_BODY_BYTES / (1024 * 1024)} MiB`);
    }
    const text = await readCapped(res.body, ok ? MAX_MODELS_BODY_BYTES : MAX_ERROR_BODY_BYTES, what, !ok);
    return { status: res.statusCode, headers: res.headers, text };
  } catch (err) {
    if (signal?.aborted) throw err;
    if (err instanceof LiveListUnavailable) throw err;
    if (timeout.aborted) throw new LiveListUnavailable(`${what} timed out after ${timeoutMs} ms`);
    const init: Parameters<typeof errorFromNetwork>[1] = { method: 'GET', url };
    if (app.settings.replay) init.replayFile = app.settings.replay;
    throw new LiveListUnavailable(errorFromNetwork(err, init).message);
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
