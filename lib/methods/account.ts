import { defineMethod } from './method';

/** account.quota: the provider's account calls do the work (lib/chutes/account). */
export const accountQuota = defineMethod(
  'account.quota',
  (params, { chutes, signal }) => {
    const { accountQuota: quota } = require('../chutes/account/quota') as typeof import('../chutes/account/quota');
    return quota(chutes, params ?? {}, signal);
  },
  { needsConfig: true, reachesUpstream: true },
);

/** chat.report: flags a bad answer by its invocationId. */
export const chatReport = defineMethod(
  'chat.report',
  (params, { chutes, signal }) => {
    const { reportInvocation } = require('../chutes/account/report') as typeof import('../chutes/account/report');
    return reportInvocation(chutes, params, signal);
  },
  { needsConfig: true, reachesUpstream: true },
);
