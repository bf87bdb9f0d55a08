import { gunzipCapped, MAX_INFLATED_BYTES } from './gunzip';
import { mlKem768 } from './ml-kem';
import { AEAD_NONCE_BYTES, AEAD_TAG_BYTES, deriveKey, KEM_CIPHERTEXT_BYTES, open } from './primitives';

/** The shortest response blob: a KEM ciphertext, a nonce and a tag around nothing. */
export const MIN_BLOB_BYTES = KEM_CIPHERTEXT_BYTES + AEAD_NONCE_BYTES + AEAD_TAG_BYTES;

/**
 * The blob of a non-stream answer. Newer APIs send it raw; an older API relays the instance's
 * `{"e2e": base64(blob), "usage": {...}}` envelope as it is. (A blob never starts with `{` by
 * design, but a KEM ciphertext can: only a body that parses as such an envelope is unwrapped.)
 */
export function responseBlob(body: Buffer): Buffer {
  if (body[0] === 0x7b) {
    try {
      const envelope = JSON.parse(body.toString('utf8')) as { e2e?: unknown };
      if (envelope && typeof envelope.e2e === 'string') return Buffer.from(envelope.e2e, 'base64');
    } catch {
      // Not JSON: a raw blob that happens to start with `{`.
    }
  }
  return body;
}

/** Opens a non-stream answer: Decaps(ct_resp), HKDF "e2e-resp-v1", open, capped gunzip; the JSON bytes. */
export function openResponse(blob: Uint8Array, responseSecretKey: Uint8Array, maxBytes = MAX_INFLATED_BYTES): Buffer {
  if (blob.length < MIN_BLOB_BYTES)
    throw new Error(`the encrypted answer is ${blob.length} bytes, shorter than the ${MIN_BLOB_BYTES} of an empty one`);
  const kemCiphertext = blob.subarray(0, KEM_CIPHERTEXT_BYTES);
  const sharedSecret = mlKem768().decapsulate(kemCiphertext, responseSecretKey);
  const key = deriveKey(sharedSecret, kemCiphertext, 'response');
  return gunzipCapped(open(key, blob.subarray(KEM_CIPHERTEXT_BYTES)), maxBytes);
}
