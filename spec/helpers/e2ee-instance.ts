import { gunzipSync, gzipSync } from 'node:zlib';
import { mlKem768 } from '../../lib/chutes/e2ee/ml-kem';
import { deriveKey, KEM_CIPHERTEXT_BYTES, open, seal } from '../../lib/chutes/e2ee/primitives';

/** The instance side of Chutes E2EE (what chutes-aegis does inside the chute), for the loopback mock. */

export function instanceKeys(seedByte: number): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return mlKem768().keygen(new Uint8Array(64).fill(seedByte));
}

/** Opens a request blob: the JSON body with e2e_response_pk popped, and that key. */
export function openRequest(blob: Buffer, secretKey: Uint8Array): { body: Record<string, any>; responseKey: Buffer } {
  const ct = blob.subarray(0, KEM_CIPHERTEXT_BYTES);
  const key = deriveKey(mlKem768().decapsulate(ct, secretKey), ct, 'request');
  const body = JSON.parse(gunzipSync(open(key, blob.subarray(KEM_CIPHERTEXT_BYTES))).toString('utf8')) as Record<string, any>;
  const responseKey = Buffer.from(String(body.e2e_response_pk), 'base64');
  delete body.e2e_response_pk;
  return { body, responseKey };
}

/** A non-stream answer: ct_resp ‖ nonce ‖ ciphertext ‖ tag around gzip(json). */
export function sealResponse(json: unknown, responseKey: Uint8Array, gz: Buffer = gzipSync(Buffer.from(JSON.stringify(json)))): Buffer {
  const { cipherText, sharedSecret } = mlKem768().encapsulate(responseKey);
  return Buffer.concat([cipherText, seal(deriveKey(sharedSecret, cipherText, 'response'), gz)]);
}

/** Starts a stream: the e2e_init payload and the stream key. */
export function streamInit(responseKey: Uint8Array): { init: string; key: Buffer } {
  const { cipherText, sharedSecret } = mlKem768().encapsulate(responseKey);
  return { init: Buffer.from(cipherText).toString('base64'), key: deriveKey(sharedSecret, cipherText, 'stream') };
}

export function sealFrame(key: Buffer, text: string): string {
  return seal(key, Buffer.from(text, 'utf8')).toString('base64');
}
