/**
 * The offline part of the NVIDIA GPU evidence check: each entry's SPDM GET_MEASUREMENTS request
 * (header 11 e0 01 ff) carries the nonce it was asked with at bytes 4..36, and for Chutes that
 * nonce is SHA256(nonce_hex + e2e_pubkey). The signature chain and NVIDIA's verdict (NRAS) are not
 * checked here: they need NVIDIA's services.
 */

const SPDM_GET_MEASUREMENTS = Buffer.from([0x11, 0xe0]);

export type GpuOutcome = { ok: true; skipped?: true; reason: string } | { ok: false; reason: string };

export function checkGpuEvidence(entries: unknown, expectedNonce: Buffer): GpuOutcome {
  if (entries === undefined || entries === null || (Array.isArray(entries) && entries.length === 0)) {
    return { ok: true, skipped: true, reason: 'the evidence has no GPU evidence' };
  }
  if (!Array.isArray(entries)) return { ok: false, reason: 'gpu_evidence is not a list' };
  for (const [i, entry] of entries.entries()) {
    const b64 = entry && typeof entry === 'object' ? (entry as { evidence?: unknown }).evidence : undefined;
    if (typeof b64 !== 'string') return { ok: false, reason: `GPU ${i}: no evidence` };
    const blob = Buffer.from(b64, 'base64');
    if (blob.length < 36 || !blob.subarray(0, 2).equals(SPDM_GET_MEASUREMENTS)) {
      return { ok: false, reason: `GPU ${i}: the evidence is not an SPDM GET_MEASUREMENTS transcript` };
    }
    if (!blob.subarray(4, 36).equals(expectedNonce)) {
      return { ok: false, reason: `GPU ${i}: the SPDM nonce is not SHA256(nonce + e2e_pubkey)` };
    }
  }
  return {
    ok: true,
    reason: `${entries.length} GPU${entries.length === 1 ? '' : 's'}: SPDM nonce = SHA256(nonce + e2e_pubkey) (NVIDIA's verdict not asked)`,
  };
}
