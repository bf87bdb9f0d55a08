import { ChutesError } from '../errors';
import type { Discovery } from './discovery';
import type { UsableInstances } from './nonce-pool';
import type { AttestationBinding } from './verified-keys';

/**
 * Keeps the discovered instances whose key attestation verified. A discovered key missing from the
 * verified set (a new instance, or a key that changed since verification) gets one re-verification;
 * after it, only verified keys are used. No verified instance: `require` refuses before anything is
 * sent; `verify` refuses too when the chute has verified keys that discovery no longer shows (keys
 * changed), and goes on unattested only when nothing of the chute was ever verified.
 */
export async function filterVerified(
  discovery: Discovery,
  chuteId: string,
  binding: AttestationBinding | undefined,
  signal?: AbortSignal,
): Promise<UsableInstances> {
  const { expiresInMs } = discovery;
  if (!binding) return { instances: discovery.instances, attested: false, expiresInMs };
  let verified = await binding.keys.verifiedKeyHashes(chuteId, { refresh: false, ...(signal ? { signal } : {}) });
  if (discovery.instances.some((i) => !verified.has(i.keyHash))) {
    verified = await binding.keys.verifiedKeyHashes(chuteId, { refresh: true, ...(signal ? { signal } : {}) });
  }
  const instances = discovery.instances.filter((i) => verified.has(i.keyHash));
  if (instances.length > 0) return { instances, attested: true, expiresInMs };
  if (binding.mode === 'verify' && verified.size === 0) return { instances: discovery.instances, attested: false, expiresInMs };
  const why =
    verified.size === 0
      ? 'attestation verified no instance of this chute'
      : `none of the ${discovery.instances.length} instances offered for E2EE has a key that attestation verified (keys changed since verification; re-verified once)`;
  throw new ChutesError('tee_required', {
    message: `E2EE to chute ${chuteId} refused: ${why}; the request was not sent`,
    resolution: 'Run tee.verify on the model to see which checks fail, or turn attestation off for this call.',
  });
}
