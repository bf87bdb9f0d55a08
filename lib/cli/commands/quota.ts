import type { CommandModule } from 'yargs';
import type { AccountQuotaResult } from '../../generated/types';
import { type CommandRun, runCommand } from '../command-runner';
import { SETTINGS_OPTIONS } from '../settings';

interface QuotaArgs {
  model?: string;
  profile?: string;
  json?: boolean;
}

export const quotaCommand: CommandModule<object, QuotaArgs> = {
  command: 'quota [model]',
  describe: "the account's daily quota (of one model's chute, or account-wide) and the subscription usage",
  builder: (y) =>
    y.positional('model', { type: 'string', describe: 'a model id (chutes/<id> or the bare id) or a chute_id' }).options({
      profile: { type: 'string', describe: 'ask with this stored profile' },
      json: { type: 'boolean', describe: 'print the account.quota result as JSON' },
      ...SETTINGS_OPTIONS,
    } as unknown as Record<string, object>),
  handler: (argv) => runCommand(argv, (run) => quota(run, argv)),
};

async function quota(run: CommandRun, argv: QuotaArgs): Promise<number> {
  const chutes = run.chutes();
  chutes.requireConfig();
  const { accountQuota } = require('../../chutes/account/quota') as typeof import('../../chutes/account/quota');
  const params: { model?: string; profile?: string } = {};
  if (argv.model !== undefined) params.model = argv.model;
  if (argv.profile !== undefined) params.profile = argv.profile;
  const r = await accountQuota(chutes, params, run.signal);
  process.stdout.write(argv.json ? `${JSON.stringify(r, null, 2)}\n` : describeQuota(r));
  return 0;
}

function describeQuota(r: AccountQuotaResult): string {
  const lines = [`quota${r.model ? ` of ${r.model}` : ''}: ${r.quota === 'unlimited' ? 'unlimited' : `${r.quota} requests a day`}`];
  lines.push(`used: ${r.used}${r.remaining !== undefined ? `, remaining: ${r.remaining}` : ''}`);
  lines.push(`resets at: ${r.resetAt}`);
  if (r.chuteId) lines.push(`chute: ${r.chuteId}`);
  if (r.subscription) {
    const fields = Object.entries(r.subscription).map(([k, v]) => `${k}=${String(v)}`);
    lines.push(`subscription: ${fields.length ? fields.join(', ') : '(nothing reported)'}`);
  }
  if (r.warning) lines.push(`warning: ${r.warning}`);
  return `${lines.join('\n')}\n`;
}
