import { gunzipSync } from 'node:zlib';

/** The most a decrypted response may inflate to: far above any answer, far below a gzip bomb. */
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

/** gunzip that stops at `maxBytes` of output instead of filling memory (a gzip bomb is a few KiB). */
export function gunzipCapped(gz: Uint8Array, maxBytes = MAX_INFLATED_BYTES): Buffer {
  try {
    return gunzipSync(gz, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new Error(`the decrypted body inflates to more than ${Math.round(maxBytes / (1024 * 1024))} MiB`, { cause: err });
    }
    throw new Error(`the decrypted body is not valid gzip (${(err as Error).message})`, { cause: err });
  }
}
