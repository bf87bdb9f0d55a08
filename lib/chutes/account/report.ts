import type { ChatReportParams, ChatReportResult } from '../../generated/types';
import type { ChutesContext } from '../context';
import { accountApi, accountCredential } from './account-api';

/** chat.report: POST {apiBaseUrl}/invocations/{id}/report {reason}, flagging a bad answer. */
export async function reportInvocation(ctx: ChutesContext, params: ChatReportParams, signal?: AbortSignal): Promise<ChatReportResult> {
  const credential = await accountCredential(ctx, params.profile, signal);
  await accountApi(ctx, {
    method: 'POST',
    path: `/invocations/${encodeURIComponent(params.invocationId)}/report`,
    credential,
    body: { reason: params.reason },
    signal,
    notFound: 'Report an invocationId from a chat result of this account (the service knows no other).',
  });
  return { reported: true, invocationId: params.invocationId };
}
