import type { AttestationFailure, AttestationSummary, TeeVerifyResult } from '../../generated/types';

const MAX_FAILURES = 20;

/** A verification in short: counts, the TCB statuses of the verified instances, and the failed checks. */
export function summarize(result: TeeVerifyResult): AttestationSummary {
  const verified = result.instances.filter((i) => i.verified);
  const summary: AttestationSummary = {
    verified: result.verified,
    checkedAt: result.checkedAt,
    instances: result.instances.length,
    verifiedInstances: verified.length,
  };
  if (result.model) summary.model = result.model;
  if (result.chuteId) summary.chuteId = result.chuteId;
  const statuses = [...new Set(verified.map((i) => i.tcbStatus).filter((s): s is string => s !== null))];
  if (statuses.length) summary.tcbStatuses = statuses;
  const failures: AttestationFailure[] = result.instances.flatMap((i) =>
    Object.entries(i.checks)
      .filter(([, c]) => !c.ok)
      .map(([check, c]) => ({ instanceId: i.instanceId, check, reason: c.reason })),
  );
  if (result.instances.length === 0) failures.push({ check: 'evidence', reason: 'the chute has no instance with evidence' });
  if (failures.length) summary.failures = failures.slice(0, MAX_FAILURES);
  return summary;
}
