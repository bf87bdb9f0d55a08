import type { RawWrite } from './framing/stream-writer';

/**
 * Stdout carries protocol messages only. Anything else in the process (a dependency's stray
 * console.log) that writes to process.stdout goes to stderr instead; the protocol writer gets
 * the one real write.
 */
export function guardStdout(): RawWrite {
  const out = process.stdout;
  const original = out.write.bind(out) as (chunk: string, encoding: BufferEncoding, cb: (err?: Error | null) => void) => boolean;
  out.write = (chunk: unknown, encoding?: unknown, cb?: unknown) =>
    (process.stderr.write as (...a: unknown[]) => boolean)(chunk, encoding, cb);
  return (chunk, callback) => original(chunk, 'utf8', callback);
}
