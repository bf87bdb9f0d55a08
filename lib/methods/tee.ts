import { defineMethod } from './method';

/** tee.verify: live (model) or audit (saved evidence) verification; the AttestationService does the work. */
export const teeVerify = defineMethod(
  'tee.verify',
  (params, { chutes, signal }) => {
    if ('evidence' in params) return chutes.attestation.audit(params, signal);
    const opts: Parameters<typeof chutes.attestation.verify>[1] = { signal };
    if (params.refresh !== undefined) opts.refresh = params.refresh;
    if (params.save !== undefined) opts.save = params.save;
    if (params.profile !== undefined) opts.profile = params.profile;
    return chutes.attestation.verify(params.model, opts);
  },
  { needsConfig: true, reachesUpstream: true },
);
