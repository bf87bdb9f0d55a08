import type { AttestationSummary, ChatParams } from '../../generated/types';
import type { AttestationBinding } from '../e2ee/verified-keys';
import type { ChutesContext } from '../context';
import { ChutesError } from '../errors';
import { publicModelId } from '../models/model-id';

/**
 * The attestation policy of one chat call, before anything is sent: off (nothing), verify (the
 * summary is attached to the result), or require (a model with no verified instance is refused
 * with tee_required and the failed checks). `ids` are the plain model ids the call names.
 */
export async function attestChat(
  ctx: ChutesContext,
  params: ChatParams,
  ids: readonly string[],
  signal: AbortSignal,
): Promise<AttestationSummary | undefined> {
  const mode = params.attestation ?? ctx.config.tee.attestation;
  if (mode === 'off' || ids.length === 0) return undefined;
  const summaries: AttestationSummary[] = [];
  for (const id of ids) summaries.push(await ctx.attestation.summaryForModel(id, signal));
  if (mode === 'require') {
    const refused = summaries.find((s) => !s.verified);
    if (refused) {
      const name = refused.model ?? publicModelId(ids[summaries.indexOf(refused)]!);
      const why =
        refused.error ??
        refused.failures
          ?.slice(0, 3)
          .map((f) => `${f.instanceId ? `${f.instanceId}: ` : ''}${f.check}: ${f.reason}`)
          .join('; ');
      throw new ChutesError('tee_required', {
        message: `attestation is required and ${name} has no verified TEE instance${why ? ` (${why})` : ''}; the request was not sent`,
        resolution: 'Run chutes-rpc tee verify MODEL to see each check; use another TEE model, or set attestation to "verify" or "off".',
        attestation: refused,
      });
    }
  }
  return summaries[0];
}

/** With attestation on, E2EE seals only to instances whose key the attestation service verified. */
export function e2eeBinding(ctx: ChutesContext, params: ChatParams): { binding?: AttestationBinding } {
  const mode = params.attestation ?? ctx.config.tee.attestation;
  return mode === 'off' ? {} : { binding: { mode, keys: ctx.attestation } };
}
