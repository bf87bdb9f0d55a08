import { ChutesError, type ChutesErrorInit } from '../errors';
import { redact } from '../../log/redact';

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

const TIMEOUT_WORDS: Readonly<Record<string, string>> = {
  UND_ERR_CONNECT_TIMEOUT: 'no connection could be made in time',
  UND_ERR_HEADERS_TIMEOUT: 'the server sent no response headers in time',
  UND_ERR_BODY_TIMEOUT: 'the response stopped arriving (no data in time)',
  ETIMEDOUT: 'the connection timed out',
};

/** An error from undici about the connection (it has a code, or a cause that has one). No instanceof: errors may come from another realm. */
export function isNetworkError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  return typeof e.code === 'string' || typeof e.cause?.code === 'string';
}

/**
 * A provider error for a request that got no HTTP answer (or lost it). The undici error is kept as
 * its `cause`, so that a retry policy can still read its code.
 */
export function errorFromNetwork(
  err: unknown,
  request: { method: string; url: string; attempts?: number; replayFile?: string },
): ChutesError {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  let message: string;
  let resolution: string | undefined;
  let retryable: boolean | undefined;
  if (code === 'UND_MOCK_ERR_MOCK_NOT_MATCHED' || /No snapshot found/.test(e?.message ?? '')) {
    message = `replay: no recorded response for ${request.method} ${request.url}${request.replayFile ? ` in ${request.replayFile}` : ''}`;
    // Set by the replay dispatcher (cassette/replay.ts): what the cassette has for that URL instead.
    const detail = (err as { replayDetail?: unknown }).replayDetail;
    if (typeof detail === 'string') {
      message += `; ${detail}`;
      resolution = (require('../cassette/replay') as typeof import('../cassette/replay')).REPLAY_MISMATCH_RESOLUTION;
    }
  } else if (code === 'EMFILE' || code === 'ENFILE') {
    message = `${request.method} ${request.url} failed: the process has no file descriptor left to open a connection (${code})`;
    resolution =
      'Too many connections or files are open at once: raise the limit of open files (ulimit -n, or LimitNOFILE for a service), or run fewer calls at the same time; retry once some have finished.';
    retryable = true;
  } else if (code && TIMEOUT_CODES.has(code)) {
    message = `${request.method} ${request.url} timed out: ${TIMEOUT_WORDS[code] ?? code}`;
  } else {
    const why = e?.cause?.message ?? e?.message ?? String(err);
    message = `${request.method} ${request.url} failed: ${why}${code && !why.includes(code) ? ` (${code})` : ''}`;
  }
  const init: ChutesErrorInit = { message: redact(message), retryable: retryable ?? !resolution, cause: err };
  if (resolution) init.resolution = resolution;
  if (request.attempts !== undefined) init.attempts = request.attempts;
  return new ChutesError('network_error', init);
}
