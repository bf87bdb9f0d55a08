import { BodyReadError, type UpstreamBody } from './upstream-body';

/** A response body (see UpstreamBody). */
export type ResponseBody = UpstreamBody;

/**
 * Drops a body that will not be read (the connection closes). Nothing is emitted: a body over a
 * stream (bodyOfStream) swallows the abort error nobody may be listening for any more.
 */
export function dropBody(body: ResponseBody): void {
  body.destroy();
}

/** What to do with a body over its cap: keep its start (an error body), or fail (a body that must be whole). */
export type Overflow = 'truncate' | 'fail';

/** A body larger than the reader's cap, when it had to be whole. */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';

  constructor(readonly maxBytes: number) {
    super(`the answer is larger than ${formatBytes(maxBytes)}`);
  }
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${Math.round(n / (1024 * 1024))} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} bytes`;
}

/** Ends a capped read early: what came before the cap is kept. */
const TRUNCATED = new Error('truncated at the cap');

/**
 * A response body as UTF-8 text, at most `maxBytes` of it. Past the cap the connection is dropped;
 * `truncate` returns what came before it, `fail` throws BodyTooLarge (at once when Content-Length
 * already says so). Read errors are thrown as they are.
 */
export async function readCappedText(body: UpstreamBody, maxBytes: number, overflow: Overflow, contentLength?: number): Promise<string> {
  if (overflow === 'fail' && contentLength !== undefined && contentLength > maxBytes) {
    dropBody(body);
    throw new BodyTooLarge(maxBytes);
  }
  const parts: Buffer[] = [];
  let size = 0;
  try {
    await body.consume((chunk) => {
      if (size + chunk.length <= maxBytes) {
        parts.push(chunk);
        size += chunk.length;
        return;
      }
      if (overflow === 'fail') throw new BodyTooLarge(maxBytes);
      parts.push(chunk.subarray(0, maxBytes - size));
      size = maxBytes;
      throw TRUNCATED;
    });
  } catch (err) {
    if (err instanceof BodyReadError) throw err.cause;
    if (err !== TRUNCATED) throw err;
  }
  return Buffer.concat(parts).toString('utf8');
}
