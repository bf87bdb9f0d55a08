import type { CommandModule } from 'yargs';
import { type CommandRun, runCommand } from '../command-runner';
import { SETTINGS_OPTIONS, UsageError } from '../settings';

interface CallArgs {
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
      .options(SETTINGS_OPTIONS)
      .example('$0 call models.discover \'{"teeOnly":true}\'', '')
      .example('echo \'{"messages":[{"role":"user","content":"Hi"}]}\' | $0 call chat.stream', '') as never,
  handler: (argv) => runCommand(argv, (run) => callOnce(run, argv)),
};

/** Writes the notifications and the reply to stdout; an error reply is also thrown, for the runner to report. */
async function callOnce(run: CommandRun, argv: CallArgs): Promise<void> {
  const { RequestRunner } = require('../../server/request-runner') as typeof import('../../server/request-runner');
  const { RpcError } = require('../../server/rpc-error') as typeof import('../../server/rpc-error');
  const { methodTable, methodNames } = require('../../methods') as typeof import('../../methods');
  const { encodeMessage } = require('../../server/framing/stream-writer') as typeof import('../../server/framing/stream-writer');
  const { readStdin } = require('../prompts') as typeof import('../prompts');
  const { writeDrained } = require('../write-drained') as typeof import('../write-drained');

  let params: unknown;
  const text = argv.params ?? (process.stdin.isTTY ? undefined : await readStdin());
  if (text !== undefined && text.trim() !== '') {
    try {
      params = JSON.parse(text);
    } catch (err) {
      const { describeJsonError } = require('../../server/inbound-gate') as typeof import('../../server/inbound-gate');
      throw new UsageError(`params are not valid JSON: ${describeJsonError(err)}`);
    }
  }
  const write = (msg: object) => writeDrained(process.stdout, encodeMessage(msg, 'ndjson'));
  const server = {
    framing: () => 'ndjson' as const,
    methodNames: () => [...methodNames],
    beginShutdown: () => undefined,
    forwardLogs: () => undefined,
    notify: (method: string, p: unknown) => write({ jsonrpc: '2.0', method, params: p }),
    outputRoom: () =>
      process.stdout.writableNeedDrain ? new Promise<void>((resolve) => process.stdout.once('drain', () => resolve())) : undefined,
  };
  const chutes = run.chutes();
  const runner = new RequestRunner(methodTable(chutes, server), chutes.log);
  try {
    const controller = new AbortController();
    if (run.signal.aborted) controller.abort(run.signal.reason);
    else run.signal.addEventListener('abort', () => controller.abort(run.signal.reason), { once: true });
    const result = await runner.run(1, argv.method, params, controller);
    await write({ jsonrpc: '2.0', id: 1, result: result ?? null });
  } catch (err) {
    const e = err instanceof RpcError ? err : new RpcError(-32603, (err as Error).message);
    const error: Record<string, unknown> = { code: e.code, message: e.message };
    if (e.data !== undefined) error.data = e.data;
    await write({ jsonrpc: '2.0', id: 1, error });
    throw e;
  }
}
