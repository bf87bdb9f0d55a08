import type { CommandModule } from 'yargs';
import { runCommand } from '../command-runner';

interface ConformanceArgs {
  adapter?: string | undefined;
  filter?: string | undefined;
}

export const conformanceCommand: CommandModule<object, ConformanceArgs> = {
  command: 'conformance [filter]',
  describe: 'run the conformance scenarios (fixtures/conformance) against an adapter; a line per scenario, then "N passed, M failed"',
  builder: (y) =>
    y
      .positional('filter', { type: 'string', describe: 'only scenarios whose name contains this' })
      .option('adapter', {
        type: 'string',
        describe:
          'shell command that starts the adapter under test; {cassette}, {home} and {config} are replaced (default: this chutes-rpc with --replay)',
      })
      .example('$0 conformance', 'test this adapter')
      .example(
        '$0 conformance --adapter "python3 my_host_adapter.py --replay {cassette}" chat',
        'test another adapter on the chat scenarios',
      ),
  handler: (argv) => runCommand(argv, () => conformance(argv)),
};

async function conformance(argv: ConformanceArgs): Promise<number> {
  const { runConformance, NoScenarios } = require('../../conformance/runner') as typeof import('../../conformance/runner');
  const { UsageError } = require('../settings') as typeof import('../settings');
  const opts: Parameters<typeof runConformance>[0] = {
    onResult: (r) => {
      const line = `${r.ok ? 'ok  ' : 'FAIL'} ${r.name} [${r.framing}] (${r.ms} ms)`;
      process.stdout.write(r.ok ? `${line}\n` : `${line}\n    ${r.reason}\n`);
    },
  };
  if (argv.adapter) opts.adapter = argv.adapter;
  if (argv.filter) opts.filter = argv.filter;
  const { passed, failed } = await runConformance(opts).catch((err: unknown) => {
    throw err instanceof NoScenarios ? new UsageError(err.message) : err;
  });
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed > 0 || passed === 0 ? 1 : 0;
}
