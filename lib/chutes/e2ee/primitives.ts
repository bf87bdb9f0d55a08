import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/** Byte sizes of ML-KEM-768 and ChaCha20-Poly1305 as the Chutes E2EE wire format uses them. */
export const PUBLIC_KEY_BYTES = 1184;
export const KEM_CIPHERTEXT_BYTES = 1088;
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;
/** HKDF salt: the first bytes of the KEM ciphertext the key belongs to. */
const SALT_BYTES = 16;

/** HKDF info strings, one per direction (ASCII, no terminator). */
export const INFO = {
  request: 'e2e-req-v1',
  response: 'e2e-resp-v1',
  stream: 'e2e-stream-v1',
} as const;
export type KeyPurpose = keyof typeof INFO;

/** An AEAD tag that does not verify, or a sealed message too short to hold a nonce and a tag. */
export class OpenFailed extends Error {
  override readonly name = 'OpenFailed';
}

/** HKDF-SHA256(ikm = the KEM shared secret, salt = kemCiphertext[0:16], info, 32 bytes). */
export function deriveKey(sharedSecret: Uint8Array, kemCiphertext: Uint8Array, purpose: KeyPurpose): Buffer {
  const salt = kemCiphertext.subarray(0, SALT_BYTES);
  return Buffer.from(hkdfSync('sha256', sharedSecret, salt, INFO[purpose], 32));
}

/** ChaCha20-Poly1305 with empty AAD: nonce ‖ ciphertext ‖ tag (the nonce random unless given). */
export function seal(key: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array = randomBytes(AEAD_NONCE_BYTES)): Buffer {
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES });
  return Buffer.concat([nonce, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/** Opens nonce ‖ ciphertext ‖ tag; OpenFailed when the tag does not verify. */
export function open(key: Uint8Array, sealed: Uint8Array): Buffer {
  if (sealed.length < AEAD_NONCE_BYTES + AEAD_TAG_BYTES) throw new OpenFailed(`a sealed message of ${sealed.length} bytes is too short`);
  const nonce = sealed.subarray(0, AEAD_NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - AEAD_TAG_BYTES);
  const decipher = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES });
  decipher.setAuthTag(tag);
  const body = decipher.update(sealed.subarray(AEAD_NONCE_BYTES, sealed.length - AEAD_TAG_BYTES));
  try {
    return Buffer.concat([body, decipher.final()]);
  } catch {
    throw new OpenFailed('the authentication tag does not verify');
  }
}
