export type Framing = 'lsp' | 'ndjson';

/** What a decoder reports: whole message texts, messages refused for size, and bytes it had to skip. */
export interface FrameSink {
  frame(text: string): void;
  /** A message over the size limit was skipped; `prefix` is its first bytes (to recover the id). */
  oversize(prefix: string, size: number): void;
  /** Bytes that are not a message were skipped. */
  malformed(reason: string): void;
}

export interface FrameDecoder {
  push(chunk: Buffer): void;
  /** The input ended: report what is left over. */
  end(): void;
}

/**
 * The largest message any decoder holds, whatever the setting: a message becomes one string, and
 * V8 cannot make a string of much more than 512 Mi characters (ERR_STRING_TOO_LONG). Larger ones
 * are skipped as oversize; config.schema.json caps maxMessageBytes at the same value.
 */
export const MAX_MESSAGE_BYTES_LIMIT = 256 * 1024 * 1024;

/** How many leading bytes of an oversize message are kept to find its id. */
export const OVERSIZE_PREFIX_BYTES = 64 * 1024;

/** The first `max` bytes of some buffers, without joining the rest. */
export function leadingBytes(parts: Buffer[], max: number): Buffer {
  const out: Buffer[] = [];
  let n = 0;
  for (const p of parts) {
    if (n >= max) break;
    const take = p.subarray(0, max - n);
    out.push(take);
    n += take.length;
  }
  return Buffer.concat(out, n);
}
