/**
 * The optional signed body of newer attestation proxies: `signature` is RSASSA-PKCS1-v1_5/SHA-256
 * over the decoded `attested_body` bytes, made with the key of the evidence certificate, and the
 * body is JSON {"evidence": {"tdx_quote": <the same base64 quote>, ...}, "nonce": <our nonce>}.
 */
import { createVerify, X509Certificate } from 'node:crypto';

export type AttestedBodyOutcome = { ok: true; skipped?: true; reason: string } | { ok: false; reason: string };

export function checkAttestedBody(
  entry: { signature?: unknown; attested_body?: unknown; quote: string },
  certDer: Uint8Array | undefined,
  nonceHex: string,
): AttestedBodyOutcome {
  const { signature, attested_body: body } = entry;
  if (signature === undefined && body === undefined) return { ok: true, skipped: true, reason: 'the evidence has no signed attested_body' };
  if (typeof signature !== 'string' || typeof body !== 'string') {
    return { ok: false, reason: 'signature and attested_body must come together, as base64 strings' };
  }
  if (!certDer) return { ok: false, reason: 'there is no certificate to check the signature with' };
  const bytes = Buffer.from(body, 'base64');
  let valid: boolean;
  try {
    const key = new X509Certificate(certDer).publicKey;
    valid = createVerify('sha256').update(bytes).verify(key, Buffer.from(signature, 'base64'));
  } catch (err) {
    return { ok: false, reason: `the signature cannot be checked: ${(err as Error).message}` };
  }
  if (!valid) return { ok: false, reason: "the signature over attested_body does not verify with the certificate's key" };
  let parsed: { nonce?: unknown; evidence?: { tdx_quote?: unknown } };
  try {
    parsed = JSON.parse(bytes.toString('utf8')) as typeof parsed;
  } catch {
    return { ok: false, reason: 'attested_body is signed but is not JSON' };
  }
  if (parsed?.nonce !== nonceHex) return { ok: false, reason: 'attested_body names another nonce' };
  if (parsed.evidence?.tdx_quote !== entry.quote) return { ok: false, reason: 'attested_body names another quote' };
  return { ok: true, reason: "signed by the certificate's key; names this nonce and quote" };
}
