import type { ChutesContext } from '../context';
import { ChutesError } from '../errors';
import { BodyTooLarge, dropBody, type Overflow, readCappedText } from './body';
import type { HeaderBag } from './headers';
import { errorFromNetwork } from './network-errors';
import { bodyOfStream, type UpstreamBody, UpstreamExchange } from './upstream-body';

export interface UpstreamTimeouts {
  /** Until the response headers have arrived. */
  headersMs: number;
  /** The longest silence allowed while the body arrives. */
  idleMs: number;
  /** The whole exchange, connect to end of body (short calls: the model list, the IdP). */
  totalMs?: number;
}

export interface UpstreamRequestInit {
  method: 'GET' | 'POST';
  url: string;
  /** The finished headers (requestHeaders() makes them: configured ones, the credential, the call's own). */
  headers: Record<string, string>;
  body?: string | Uint8Array;
  /** The caller's: its abort is rethrown as it is (a cancellation, not a failure). */
  signal?: AbortSignal;
  timeouts: UpstreamTimeouts;
}

/** An answer of any status; the body is the caller's to read (or to drop). */
export interface UpstreamResponse {
  status: number;
  /** Names lowercased, as undici gives them. */
  headers: HeaderBag;
  /** Read it piece by piece with consume(), or whole with text(). */
  body: UpstreamBody;
  /**
   * The body as text, capped (see readCappedText), failing as the request does (the caller's
   * abort as it is, a lost connection as a network_error); a body over a `fail` cap is a server_error.
   */
  text(maxBytes: number, overflow: Overflow): Promise<string>;
}

/**
 * The one way an upstream request is sent: through the context's dispatcher (so --replay and
 * --record see it), with headers and body/idle timeouts, and an optional deadline for the whole
 * exchange. Failures without an answer are network_error ChutesErrors (`cause` is undici's error;
 * a passed deadline says "timed out after N ms"); the caller's abort is rethrown as it is. A non-2xx
 * answer is no failure here: the caller knows what it means.
 */
export async function upstreamRequest(ctx: ChutesContext, init: UpstreamRequestInit): Promise<UpstreamResponse> {
  const { method, url, timeouts } = init;
  const deadline = timeouts.totalMs !== undefined ? AbortSignal.timeout(timeouts.totalMs) : undefined;
  const signal = deadline ? (init.signal ? AbortSignal.any([init.signal, deadline]) : deadline) : init.signal;
  const fail = (err: unknown): never => {
    if (init.signal?.aborted) throw init.signal.reason ?? err;
    if (deadline?.aborted) {
      throw new ChutesError('network_error', {
        message: `${method} ${url} timed out after ${timeouts.totalMs} ms`,
        retryable: true,
        cause: err,
      });
    }
    const replay = ctx.settings.replay;
    throw errorFromNetwork(err, { method, url, ...(replay ? { replayFile: replay } : {}) });
  };
  try {
    const exchange = new UpstreamExchange(signal);
    const target = new URL(url);
    // The handler API rather than request(): the chat stream reads its body with no stream in between.
    ctx.http.dispatch(
      {
        origin: target.origin,
        path: `${target.pathname}${target.search}`,
        method,
        headers: init.headers,
        ...(init.body !== undefined ? { body: init.body } : {}),
        headersTimeout: timeouts.headersMs,
        bodyTimeout: timeouts.idleMs,
      },
      exchange,
    );
    const { status, headers } = await exchange.response();
    const body = decodedBody(exchange, headers, `${method} ${url}`);
    const declared = Number(headers['content-length']);
    const contentLength = Number.isFinite(declared) && body === exchange ? declared : undefined;
    return {
      status,
      headers,
      body,
      text: (maxBytes, overflow) =>
        readCappedText(body, maxBytes, overflow, contentLength).catch((err: unknown) => {
          if (!(err instanceof BodyTooLarge)) return fail(err);
          throw new ChutesError('server_error', { message: `${method} ${url}: ${err.message}`, retryable: false });
        }),
    };
  } catch (err) {
    if (err instanceof ChutesError) throw err;
    return fail(err);
  }
}

const DECODERS: Record<string, () => import('node:stream').Transform> = {
  gzip: () => require('node:zlib').createGunzip(),
  'x-gzip': () => require('node:zlib').createGunzip(),
  deflate: () => require('node:zlib').createInflate(),
  br: () => require('node:zlib').createBrotliDecompress(),
};

/**
 * The body as its bytes were meant: no Accept-Encoding is sent, but a server (or a proxy) that
 * compresses anyway is decoded (gzip, deflate, br) rather than shown as binary text; any other
 * encoding is refused with a clear server_error. Caps apply to the decoded bytes.
 */
function decodedBody(raw: UpstreamExchange, headers: HeaderBag, what: string): UpstreamBody {
  const encoding = String(headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase();
  if (encoding === '' || encoding === 'identity') return raw;
  const make = DECODERS[encoding];
  if (!make) {
    dropBody(raw);
    throw new ChutesError('server_error', {
      message: `${what}: the answer is encoded with "${encoding.slice(0, 40)}", which chutes-rpc cannot decode`,
      retryable: false,
    });
  }
  const { pipeline, Readable } = require('node:stream') as typeof import('node:stream');
  // A corrupt encoding fails the read as a broken connection would.
  return bodyOfStream(pipeline(Readable.from(raw), make(), () => undefined));
}
