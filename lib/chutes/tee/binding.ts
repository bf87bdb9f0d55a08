/**
 * What a Chutes quote's report_data must hold:
 *   report_data[0:32]  = SHA256(UTF8(nonce_hex + e2e_pubkey_b64))   (the strings as sent and served, not decoded)
 *   report_data[32:64] = SHA256(DER SubjectPublicKeyInfo of the evidence certificate)
 */
import { createHash, X509Certificate } from 'node:crypto';

/** The decoded length of an ML-KEM-768 encapsulation key. */
export const ML_KEM_768_PUBKEY_BYTES = 1184;

export function sha256(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The first half of report_data, and the nonce the GPU evidence carries. */
export function nonceBindingDigest(nonceHex: string, e2ePubkeyB64: string): Buffer {
  return sha256(Buffer.from(nonceHex + e2ePubkeyB64, 'utf8'));
}

/** SHA-256 (hex) of the decoded key: how the E2EE transport names a verified instance key. */
export function e2ePubkeySha256(e2ePubkeyB64: string): string {
  return sha256(Buffer.from(e2ePubkeyB64, 'base64')).toString('hex');
}

/** Strict standard base64 (padding included), as /e2e/instances serves keys. */
export function isStandardBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

/** The SHA-256 of the certificate's SubjectPublicKeyInfo (DER); throws when the bytes are no X.509 certificate. */
export function certificateSpkiSha256(certDer: Uint8Array): Buffer {
  const spki = new X509Certificate(certDer).publicKey.export({ type: 'spki', format: 'der' });
  return sha256(spki);
}
