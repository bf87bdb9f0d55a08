import type { CommandModule } from 'yargs';
import { COMMON_OPTIONS, type CommonArgs } from '../cli-app';

interface CallArgs extends CommonArgs {
  method: string;
  params?: string;
}

export const callCommand: CommandModule<object, CallArgs> = {
  command: 'call <method> [params]',
  describe: 'run one JSON-RPC call (params as JSON, or from stdin when piped) and print its notifications and reply as NDJSON',
  builder: (y) =>
    y
      .positional('method', { type: 'string', demandOption: true })
      .positional('params', { type: 'string', describe: 'the params object as JSON' })
      .options(COMMON_OPTIONS)
      .example('$0 call models.discover \'{"teeOnly":true}\'', '')
      .example('echo \'{"messages":[{"role":"user","content":"Hi"}]}\' | $0 call chat.stream', '') as never,
  handler: (argv) => callOnce(argv),
};

async function callOnce(argv: CallArgs): Promise<void> {
  const { createCliApp, CliUsageError, exitQuietlyOnEpipe, readStdin } = require('../cli-app') as typeof import('../cli-app');
  const { RequestRunner } = require('../../server/request-runner') as typeof import('../../server/request-runner');
  const { RpcError } = require('../../server/rpc-error') as typeof import('../../server/rpc-error');
  const { methodTable, methodNames } = require('../../methods') as typeof import('../../methods');
  const { encodeMessage } = require('../../server/framing/stream-writer') as typeof import('../../server/framing/stream-writer');
  exitQuietlyOnEpipe();

  const write = (msg: object) =>
    new Promise<void>((resolve) => {
      if (process.stdout.write(encodeMessage(msg, 'ndjson'))) resolve();
      else process.stdout.once('drain', resolve);
    });
  let app;
  let params: unknown;
  try {
    app = createCliApp(argv);
    const text = argv.params ?? (process.stdin.isTTY ? undefined : await readStdin());
    if (text !== undefined && text.trim() !== '') {
      try {
        params = JSON.parse(text);
      } catch (err) {
        const { describeJsonError } = require('../../server/inbound-gate') as typeof import('../../server/inbound-gate');
        throw new CliUsageError(`params are not valid JSON: ${describeJsonError(err)}`);
      }
    }
  } catch (err) {
    process.stderr.write(`chutes-rpc: ${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  const server = {
    framing: () => 'ndjson' as const,
    methodNames: () => [...methodNames],
    beginShutdown: () => undefined,
    forwardLogs: () => undefined,
    notify: (method: string, p: unknown) => write({ jsonrpc: '2.0', method, params: p }),
  };
  const runner = new RequestRunner(methodTable(app, server), app.log);
  const cancel = new AbortController();
  process.once('SIGINT', () => cancel.abort());
  process.once('SIGTERM', () => cancel.abort());
  try {
    const result = await runner.run(1, argv.method, params, cancel.signal);
    await write({ jsonrpc: '2.0', id: 1, result: result ?? null });
  } catch (err) {
    const e = err instanceof RpcError ? err : new RpcError(-32603, (err as Error).message);
    const error: Record<string, unknown> = { code: e.code, message: e.message };
    if (e.data !== undefined) error.data = e.data;
    await write({ jsonrpc: '2.0', id: 1, error });
    process.exitCode = 1;
  } finally {
    await app.close();
  }
}
