/**
 * What attestation verified: per chute, the SHA256 (lowercase hex) of each `e2e_pubkey` bound into
 * the report_data of a TDX quote that passed. The TEE verification service provides it; the E2EE
 * transport only asks.
 */
export interface VerifiedKeys {
  /** `refresh`: verify again now instead of answering from a cached verification. */
  verifiedKeyHashes(chuteId: string, opts: { refresh: boolean; signal?: AbortSignal }): Promise<ReadonlySet<string>>;
}

/**
 * How a call binds E2EE to attestation. `verify`: only verified instances when the chute has any
 * (none at all: sealed to an unverified instance, and the result says attested: false); `require`:
 * only verified instances, else refused before anything is sent.
 */
export interface AttestationBinding {
  mode: 'verify' | 'require';
  keys: VerifiedKeys;
}
