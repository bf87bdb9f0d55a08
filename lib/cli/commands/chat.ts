import type { CommandModule } from 'yargs';
import type { ChatDelta, ChatMessage, ChatParams } from '../../generated/types';
import { type CommandRun, runCommand } from '../command-runner';
import { SETTINGS_OPTIONS, UsageError } from '../settings';
import { writeDrained } from '../write-drained';
import { StatusLine } from '../status-line';

interface ChatArgs {
  prompt?: string[];
  model?: string;
  system?: string;
  json?: boolean;
  'hide-reasoning'?: boolean;
  'max-tokens'?: number;
  temperature?: number;
  thinking?: boolean;
  'tee-only'?: boolean;
  e2ee?: 'off' | 'prefer' | 'require';
  usage?: boolean;
}

export const chatCommand: CommandModule<object, ChatArgs> = {
  command: 'chat [prompt..]',
  describe: 'ask a model: the answer streams to stdout as it arrives (prompt from stdin when not given)',
  builder: (y) =>
    y
      .positional('prompt', { type: 'string', array: true, describe: 'the prompt (words are joined with spaces); else read from stdin' })
      .options({
        model: { alias: 'm', type: 'string', describe: 'chutes/<id> or the bare id (default: the configured default model)' },
        system: { alias: 's', type: 'string', describe: 'a system prompt' },
        json: { type: 'boolean', describe: 'print the whole result (message, usage, cost, rate limits) as JSON instead of streaming text' },
        'hide-reasoning': { type: 'boolean', describe: 'do not print the reasoning (it goes to stderr otherwise)' },
        'max-tokens': { type: 'number', describe: 'the most tokens to generate' },
        temperature: { type: 'number', describe: 'sampling temperature, 0 to 2' },
        thinking: { type: 'boolean', describe: 'ask for thinking (X-Enable-Thinking)' },
        'tee-only': { type: 'boolean', describe: 'only run on a TEE model (default from the config teeOnly)' },
        e2ee: {
          type: 'string',
          choices: ['off', 'prefer', 'require'] as const,
          describe: 'end-to-end encrypt to one instance key: require (never plaintext), prefer, off (default from the config e2ee)',
        },
        usage: { type: 'boolean', describe: 'print tokens, cost and attempts to stderr at the end' },
        ...SETTINGS_OPTIONS,
      })
      .example('$0 chat --model chutes/zai-org/GLM-4.7-Flash "Hello!"', '')
      .example('git diff | $0 chat -s "Review this diff"', '') as never,
  handler: (argv) => runCommand(argv, (run) => chat(run, argv)),
};

async function chat(run: CommandRun, argv: ChatArgs): Promise<void> {
  // Loaded here: `chutes-rpc --help` and the other commands do not pay for them.
  const { runChat } = require('../../chutes/chat/call') as typeof import('../../chutes/chat/call');
  const { readStdin } = require('../prompts') as typeof import('../prompts');

  if (argv['max-tokens'] !== undefined && !(Number.isInteger(argv['max-tokens']) && argv['max-tokens'] > 0)) {
    throw new UsageError('--max-tokens must be a positive integer');
  }
  if (argv.temperature !== undefined && !(argv.temperature >= 0 && argv.temperature <= 2))
    throw new UsageError('--temperature must be between 0 and 2');
  let prompt = (argv.prompt ?? []).map(String).join(' ');
  if (prompt === '') {
    if (process.stdin.isTTY) throw new UsageError('give a prompt, e.g. chutes-rpc chat "Hello!", or pipe one on stdin');
    prompt = await readStdin();
  }
  if (prompt.trim() === '') throw new UsageError('the prompt is empty');

  const out = new TextOut(process.stdout, process.stderr, !argv['hide-reasoning']);
  const statusLine = new StatusLine(process.stderr);
  const user: ChatMessage = { role: 'user', content: prompt };
  const params: ChatParams = { messages: argv.system ? [{ role: 'system', content: argv.system }, user] : [user] };
  if (argv.model) params.model = argv.model;
  if (argv['max-tokens'] !== undefined) params.maxTokens = argv['max-tokens'];
  if (argv.temperature !== undefined) params.temperature = argv.temperature;
  if (argv.thinking) params.thinking = true;
  if (argv['tee-only'] !== undefined) params.teeOnly = argv['tee-only'];
  if (argv.e2ee !== undefined) params.e2ee = argv.e2ee;

  try {
    const result = await runChat(run.chutes(), {
      params,
      streamId: 'cli',
      signal: run.signal,
      onStatus: (status) => statusLine.show(status),
      ...(argv.json
        ? {}
        : {
            onDelta: (d) => {
              statusLine.clear();
              return out.delta(d);
            },
          }),
    });
    statusLine.clear();
    if (argv.json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else {
      await out.finish();
      // An answer that is only tool calls would otherwise print nothing at all.
      for (const call of result.message.toolCalls ?? []) {
        await writeDrained(process.stdout, `tool call: ${call.name}(${call.arguments})\n`);
      }
      if (result.finishReason === 'length') process.stderr.write('chutes-rpc: the answer was cut at the token limit (--max-tokens)\n');
    }
    if (argv.usage) {
      const u = result.usage;
      const cost = result.cost ? `, $${formatUsd(result.cost.usd)}` : '';
      const cached = u.cachedTokens ? ` (${u.cachedTokens} cached)` : '';
      process.stderr.write(
        `${result.model}: ${u.promptTokens} prompt tokens${cached} + ${u.completionTokens} completion tokens${cost}, ${result.attempts} attempt${result.attempts === 1 ? '' : 's'}\n`,
      );
    }
  } catch (thrown) {
    // What arrived before the failure stays on stdout, its line ended; the runner reports the failure.
    statusLine.clear();
    await out.finish().catch(() => undefined);
    if (argv.json) {
      const { toRpcError } = require('../../methods/rpc-errors') as typeof import('../../methods/rpc-errors');
      const { RpcError } = require('../../server/rpc-error') as typeof import('../../server/rpc-error');
      const { redact } = require('../../log/redact') as typeof import('../../log/redact');
      const err = toRpcError(thrown);
      if (err instanceof RpcError) {
        process.stdout.write(JSON.stringify({ error: { code: err.code, message: redact(err.message), data: err.data } }, null, 2) + '\n');
      }
    }
    throw thrown;
  }
}

/** Dollars with enough digits to see a fraction of a cent. */
function formatUsd(usd: number): string {
  return usd >= 0.01 ? usd.toFixed(4) : usd === 0 ? '0' : usd.toPrecision(2);
}

/** Streams text to stdout and reasoning to stderr, waiting for each to drain (a slow pipe slows the model's stream, not memory). */
class TextOut {
  private lastOut = '\n';
  private lastErr = '\n';
  private inReasoning = false;
  private readonly dim: boolean;

  constructor(
    private readonly stdout: NodeJS.WriteStream,
    private readonly stderr: NodeJS.WriteStream,
    private readonly showReasoning: boolean,
  ) {
    this.dim = !!stderr.isTTY && !process.env.NO_COLOR;
  }

  async delta(d: ChatDelta): Promise<void> {
    if (d.reasoning !== undefined && this.showReasoning) {
      if (!this.inReasoning && this.dim) this.stderr.write('\x1b[2m');
      this.inReasoning = true;
      await writeDrained(this.stderr, d.reasoning);
      this.lastErr = d.reasoning;
    }
    if (d.content !== undefined) {
      this.endReasoning();
      await writeDrained(this.stdout, d.content);
      this.lastOut = d.content;
    }
  }

  private endReasoning(): void {
    if (!this.inReasoning) return;
    this.inReasoning = false;
    if (this.dim) this.stderr.write('\x1b[0m');
    if (!this.lastErr.endsWith('\n')) this.stderr.write('\n');
    this.lastErr = '\n';
  }

  /** Ends the last line, so the shell prompt starts on its own. */
  async finish(): Promise<void> {
    this.endReasoning();
    if (!this.lastOut.endsWith('\n')) {
      this.lastOut = '\n';
      await writeDrained(this.stdout, '\n');
    }
  }
}
