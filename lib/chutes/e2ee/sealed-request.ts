import { gzipSync } from 'node:zlib';
import { mlKem768 } from './ml-kem';
import { deriveKey, KEM_CIPHERTEXT_BYTES, PUBLIC_KEY_BYTES, seal } from './primitives';

/** Fixed inputs, for the deterministic vectors and tests only; production draws them at random. */
export interface SealingSeeds {
  /** The 64-byte ML-KEM KeyGen seed of the response keypair. */
  responseKeySeed?: Uint8Array;
  /** The 32-byte encapsulation randomness. */
  encapsulation?: Uint8Array;
  /** The 12-byte AEAD nonce. */
  aeadNonce?: Uint8Array;
}

export interface SealedRequest {
  /** ct_req[1088] ‖ nonce[12] ‖ ciphertext ‖ tag[16]: the whole HTTP body. */
  blob: Buffer;
  /** The secret half of the per-request response keypair: opens the answer, then is dropped. */
  responseSecretKey: Uint8Array;
}

/**
 * Seals an OpenAI-style JSON body to one instance's ML-KEM-768 key: a fresh response keypair whose
 * public half travels inside as `e2e_response_pk`, gzip, then ChaCha20-Poly1305 under
 * HKDF(shared secret, "e2e-req-v1").
 */
export function sealRequest(payload: Record<string, unknown>, instancePublicKey: Uint8Array, seeds: SealingSeeds = {}): SealedRequest {
  if (instancePublicKey.length !== PUBLIC_KEY_BYTES) {
    throw new Error(`the instance key is ${instancePublicKey.length} bytes, not the ${PUBLIC_KEY_BYTES} of ML-KEM-768`);
  }
  const kem = mlKem768();
  const response = kem.keygen(seeds.responseKeySeed);
  const { cipherText, sharedSecret } = kem.encapsulate(instancePublicKey, seeds.encapsulation);
  const key = deriveKey(sharedSecret, cipherText, 'request');
  const body = { ...payload, e2e_response_pk: Buffer.from(response.publicKey).toString('base64') };
  const plain = gzipSync(Buffer.from(JSON.stringify(body), 'utf8'));
  if (cipherText.length !== KEM_CIPHERTEXT_BYTES) throw new Error('ML-KEM returned a ciphertext of the wrong size');
  return { blob: Buffer.concat([cipherText, seal(key, plain, seeds.aeadNonce)]), responseSecretKey: response.secretKey };
}
