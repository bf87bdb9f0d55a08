import * as fs from 'node:fs';
import type { CommandModule } from 'yargs';
import type { TeeCheck, TeeEvidenceBundle, TeeInstanceReport, TeeVerifyAuditParams, TeeVerifyResult } from '../../generated/types';
import { type CommandRun, runCommand } from '../command-runner';
import { SETTINGS_OPTIONS, UsageError } from '../settings';

interface VerifyArgs {
  model?: string;
  json?: boolean;
  save?: string;
  evidence?: string;
  at?: string;
  refresh?: boolean;
}

export const teeCommand: CommandModule = {
  command: 'tee <action>',
  describe: 'verify that a model runs in a genuine TEE (Intel TDX attestation)',
  builder: (y) =>
    y
      .command<VerifyArgs>({
        command: 'verify [model]',
        describe: 'check the TDX evidence of every instance of a model: a report of each check, exit code 0 only when verified',
        builder: (yy) =>
          yy
            .positional('model', { type: 'string', describe: 'chutes/<id>, the bare id, or a chute_id' })
            .options({
              json: { type: 'boolean', describe: 'print the tee.verify result as JSON' },
              save: {
                type: 'string',
                describe: 'write what was verified (evidence, keys, collateral, measurements) to FILE for a later audit',
              },
              evidence: { type: 'string', describe: 'audit mode: verify a file written by --save (offline but for what it lacks)' },
              at: {
                type: 'string',
                describe: 'audit mode: verify as of this time (ISO date-time or Unix seconds); default the time in the file',
              },
              refresh: { type: 'boolean', describe: 'fetch new evidence even when a verification is cached' },
              ...SETTINGS_OPTIONS,
            })
            .example('$0 tee verify chutes/deepseek-ai/DeepSeek-V3.2-TEE', '')
            .example('$0 tee verify --evidence saved.json --at 2026-11-01T00:00:00Z', '') as never,
        handler: (argv) => runCommand(argv, (run) => verify(run, argv)),
      })
      .demandCommand(1, 'Give an action: chutes-rpc tee verify MODEL'),
  handler: () => undefined,
};

function readBundle(file: string, at: string | undefined): TeeVerifyAuditParams {
  let bundle: TeeEvidenceBundle;
  try {
    bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as TeeEvidenceBundle;
  } catch (err) {
    throw new UsageError(
      `--evidence ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (err as Error).message}`,
    );
  }
  const when = at === undefined ? bundle.at : /^\d+$/.test(at) ? Number(at) : at;
  if (when === undefined) throw new UsageError(`--evidence ${file} says no time: give --at TIME`);
  const params = { ...bundle, at: when };
  const { validate } = require('../../schema-validation') as typeof import('../../schema-validation');
  const problems = validate('params:tee.verify', params);
  if (problems.length) {
    const list = problems.slice(0, 3).map((p) => `${p.path || '(file)'} ${p.message}`);
    throw new UsageError(`--evidence ${file} is not a saved verification: ${list.join('; ')}`);
  }
  return params;
}

async function verify(run: CommandRun, argv: VerifyArgs): Promise<number> {
  if (argv.evidence === undefined && argv.model === undefined)
    throw new UsageError('give a model (chutes-rpc tee verify MODEL) or --evidence FILE');
  if (argv.evidence !== undefined && argv.save !== undefined)
    throw new UsageError('--save writes new evidence: it does not go with --evidence');
  if (argv.evidence === undefined && argv.at !== undefined) throw new UsageError('--at goes with --evidence FILE');
  const audit = argv.evidence !== undefined ? readBundle(argv.evidence, argv.at) : undefined;
  const chutes = run.chutes();
  chutes.requireConfig();
  const result = audit
    ? await chutes.attestation.audit(audit, run.signal)
    : await chutes.attestation.verify(argv.model!, {
        signal: run.signal,
        save: argv.save !== undefined,
        ...(argv.refresh ? { refresh: true } : {}),
      });
  if (argv.save !== undefined && result.saved) {
    fs.writeFileSync(argv.save, JSON.stringify(result.saved, null, 2) + '\n');
    delete result.saved;
    process.stderr.write(`saved the evidence to ${argv.save}: chutes-rpc tee verify --evidence ${argv.save} checks it again\n`);
  }
  process.stdout.write(argv.json ? JSON.stringify(result, null, 2) + '\n' : formatReport(result));
  return result.verified ? 0 : 1;
}

const CHECK_NAMES: Record<keyof TeeInstanceReport['checks'], string> = {
  quote: 'quote',
  nonceBinding: 'nonce binding',
  certificateBinding: 'certificate binding',
  debug: 'debug off',
  dcap: 'Intel DCAP',
  tcbStatus: 'TCB status',
  measurement: 'measurements',
  attestedBody: 'signed body',
  gpu: 'GPU nonce',
};

function mark(c: TeeCheck): string {
  return c.skipped ? 'skip' : c.ok ? 'pass' : 'FAIL';
}

/** The readable report: a verdict line, the policy, then each instance with each check, pass or fail, and why. */
export function formatReport(r: TeeVerifyResult): string {
  const who = [r.model, r.chuteId && `chute ${r.chuteId}`].filter(Boolean).join(', ') || 'saved evidence';
  const ok = r.instances.filter((i) => i.verified).length;
  const lines = [
    `${r.verified ? 'VERIFIED' : 'NOT VERIFIED'}: ${who}: ${ok} of ${r.instances.length} instance${r.instances.length === 1 ? '' : 's'} verified`,
    `checked ${r.checkedAt} (${r.source}); nonce ${r.nonce}`,
    `policy: TCB ${r.policy.tcbStatuses.join(' or ')}; reference measurements ${
      r.policy.measurements === 'pinned'
        ? 'from the pinned file'
        : r.policy.measurements === 'given'
          ? 'from the saved file'
          : 'from the live (unsigned) endpoint'
    }`,
  ];
  const width = Math.max(...Object.values(CHECK_NAMES).map((n) => n.length));
  for (const i of r.instances) {
    const facts = [
      i.tcbStatus && `TCB ${i.tcbStatus}${i.advisoryIds.length ? ` (${i.advisoryIds.join(', ')})` : ''}`,
      i.measurement && `measurement ${i.measurement.name}${i.measurement.version ? ` ${i.measurement.version}` : ''}`,
      i.e2ePubkeySha256 && `e2e key sha256 ${i.e2ePubkeySha256}`,
    ].filter(Boolean);
    lines.push('', `instance ${i.instanceId}: ${i.verified ? 'verified' : 'NOT verified'}${facts.length ? ` (${facts.join('; ')})` : ''}`);
    for (const [key, name] of Object.entries(CHECK_NAMES) as Array<[keyof TeeInstanceReport['checks'], string]>) {
      const c = i.checks[key];
      lines.push(`  ${mark(c)}  ${name.padEnd(width)}  ${c.reason}`);
    }
  }
  if (r.instances.length === 0) lines.push('', 'no instance gave evidence');
  if (r.failedInstanceIds.length) lines.push('', `instances the server could not get evidence from: ${r.failedInstanceIds.join(', ')}`);
  return lines.join('\n') + '\n';
}
