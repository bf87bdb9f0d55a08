import { errorDetail } from '../http/response-errors';
import { sseEvents } from '../chat/sse';
import { parseJsonOrUndefined } from '../../util/json';
import { E2eeFault } from './e2ee-fault';
import { mlKem768 } from './ml-kem';
import { deriveKey, KEM_CIPHERTEXT_BYTES, open, OpenFailed } from './primitives';

export interface StreamHooks {
  /**
   * A plaintext `{"usage": ...}` event: the relay's unauthenticated copy of the usage. Only a
   * fallback for an encrypted stream that carried none.
   */
  onPlaintextUsage?: (usage: Record<string, unknown>) => void;
}

/**
 * The upstream SSE bytes inside an E2EE stream: `e2e_init` gives the stream key (Decaps,
 * HKDF "e2e-stream-v1"), each `e2e` frame opens to raw bytes of the upstream event stream, which
 * are yielded as they are for the ordinary SSE decoder (frames need not align with events).
 * Whether the inner stream reached `[DONE]` is that decoder's to see: an outer plaintext
 * `[DONE]` means nothing here. Any broken rule throws an E2eeFault.
 */
export async function* decryptStream(
  body: AsyncIterable<Uint8Array>,
  responseSecretKey: Uint8Array,
  hooks: StreamHooks = {},
): AsyncGenerator<Buffer, void, undefined> {
  let key: Buffer | undefined;
  let frames = 0;
  for await (const items of sseEvents(body)) {
    const out: Buffer[] = [];
    for (const item of items) {
      if (item.kind === 'raw') {
        const value = parseJsonOrUndefined(item.line.trim());
        if (value && typeof value === 'object') throw relayError(value as Record<string, unknown>);
        continue;
      }
      const data = item.data.trim();
      if (data === '' || data === '[DONE]') continue;
      const value = parseJsonOrUndefined(data);
      if (!value || typeof value !== 'object' || Array.isArray(value))
        throw new E2eeFault('the encrypted stream sent an event that is not a JSON object');
      const event = value as Record<string, unknown>;
      if (event.e2e_error !== undefined)
        throw new E2eeFault(
          `the instance reported an error (e2e_error): ${errorDetail(typeof event.e2e_error === 'string' ? event.e2e_error : JSON.stringify(event.e2e_error))}`,
        );
      if (typeof event.e2e_init === 'string') {
        if (key) throw new E2eeFault('a second e2e_init arrived in one stream');
        key = streamKey(Buffer.from(event.e2e_init, 'base64'), responseSecretKey);
      } else if (typeof event.e2e === 'string') {
        frames++;
        if (!key) throw new E2eeFault('an encrypted frame arrived before e2e_init');
        try {
          out.push(open(key, Buffer.from(event.e2e, 'base64')));
        } catch (err) {
          if (err instanceof OpenFailed) throw new E2eeFault(`frame ${frames} failed authentication (${err.message})`);
          throw err;
        }
      } else if (event.usage && typeof event.usage === 'object' && Object.keys(event).length === 1) {
        hooks.onPlaintextUsage?.(event.usage as Record<string, unknown>);
      } else if (event.error !== undefined || event.detail !== undefined) {
        throw relayError(event);
      }
      // Anything else is not ours to interpret, and never shown: only decrypted bytes are.
    }
    if (out.length) yield out.length === 1 ? out[0]! : Buffer.concat(out);
  }
  if (!key) throw new E2eeFault('the stream ended without e2e_init (the instance could not start an encrypted stream)');
}

function streamKey(kemCiphertext: Buffer, responseSecretKey: Uint8Array): Buffer {
  if (kemCiphertext.length !== KEM_CIPHERTEXT_BYTES) {
    throw new E2eeFault(`e2e_init carries ${kemCiphertext.length} bytes, not a ${KEM_CIPHERTEXT_BYTES}-byte ML-KEM ciphertext`);
  }
  return deriveKey(mlKem768().decapsulate(kemCiphertext, responseSecretKey), kemCiphertext, 'stream');
}

/** An error the API wrote into the stream in the clear (unauthenticated, so only reported). */
function relayError(value: Record<string, unknown>): E2eeFault {
  return new E2eeFault(`the relay reported an error in the clear: ${errorDetail(JSON.stringify(value))}`);
}
