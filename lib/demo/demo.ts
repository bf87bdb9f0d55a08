import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  type ChatMessage,
  type ChatParams,
  type ChatResult,
  type ChatStream,
  type InitializeResult,
  type Model,
  type ModelsDiscoverResult,
  RpcError,
  spawnAdapter,
  type Tool,
} from '../client';
import { packageFile, selfCommand } from '../util/package-files';

/** The recorded traffic the demo replays. */
export function demoCassette(): string {
  return packageFile('fixtures/cassettes/demo.json');
}

export interface DemoOptions {
  out?: NodeJS.WritableStream;
  /** Colours and dim text; default: stdout is a terminal and NO_COLOR is not set. */
  color?: boolean;
  /** Stops the session (Ctrl-C, stdout closed): the adapter is stopped and the demo's home removed. */
  signal?: AbortSignal;
}

interface Style {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
}

function style(color: boolean): Style {
  const wrap = (open: number, close: number) => (s: string) => (color ? `\x1b[${open}m${s}\x1b[${close}m` : s);
  return { bold: wrap(1, 22), dim: wrap(2, 22), green: wrap(32, 39), red: wrap(31, 39), cyan: wrap(36, 39) };
}

const WEATHER_TOOL: Tool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
      required: ['city'],
    },
  },
};

/**
 * `npm run demo`: drives the adapter as a host would, over NDJSON, offline on the recorded demo
 * traffic: initialize, models.discover, a streamed chat, a tool call round trip, a cancelled stream.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<number> {
  const out = opts.out ?? process.stdout;
  const color = opts.color ?? (!!(process.stdout as { isTTY?: boolean }).isTTY && !process.env.NO_COLOR);
  const s = style(color);
  const print = (text = '') => out.write(`${text}\n`);
  const write = (text: string) => out.write(text);
  const cassette = demoCassette();
  // A home of its own and no credential (replay needs none): the demo never reads the user's config or credentials.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-demo-'));
  const env: NodeJS.ProcessEnv = { ...process.env, CHUTES_RPC_HOME: home };
  for (const k of Object.keys(env)) if (k.startsWith('CHUTES_') && k !== 'CHUTES_RPC_HOME') delete env[k];
  const self = selfCommand();
  const host = spawnAdapter({ command: self.command, args: [...self.args, 'serve', '--replay', cassette], env });
  // Stopping the adapter fails the request in flight, and the session ends through its finally.
  const stop = () => void host.close();
  opts.signal?.addEventListener('abort', stop, { once: true });

  const stream = async (label: string, params: ChatParams, cancelAfter?: number): Promise<ChatResult | RpcError> => {
    print(`${s.cyan('→ chat.stream')}  ${label}`);
    let deltas = 0;
    let thinking = false;
    write('  ');
    const chat = host.chatStream(params);
    try {
      for await (const d of chat) {
        deltas++;
        if (d.reasoning) {
          if (!thinking) write(s.dim('(thinking) '));
          thinking = true;
          write(s.dim(d.reasoning));
        }
        if (d.content) {
          if (thinking) write('\n  ');
          thinking = false;
          write(d.content.replace(/\n/g, '\n  '));
        }
        // Leaving the loop cancels the request.
        if (cancelAfter !== undefined && deltas === cancelAfter) break;
      }
    } catch (err) {
      if (!(err instanceof RpcError)) throw err;
    }
    print();
    const reply = await replyOf(chat);
    if (reply instanceof RpcError) {
      const partial: string = reply.data?.partial?.content ?? '';
      print(
        s.red(`  ✗ ${reply.code} ${reply.message}`) + s.dim(` · after ${deltas} deltas; data.partial keeps ${partial.length} characters`),
      );
    } else {
      const cost = reply.cost ? ` · $${reply.cost.usd.toFixed(7)}` : '';
      print(s.green(`  ✓ ${reply.finishReason} · ${reply.usage.totalTokens} tokens${cost} · ${deltas} deltas · served by ${reply.model}`));
    }
    print();
    return reply;
  };

  try {
    print(s.bold('chutes-rpc demo') + s.dim(' — a host speaking JSON-RPC (NDJSON) to the adapter, offline on recorded traffic'));
    print(s.dim(`  replaying ${cassette}; no network, no account\n`));

    const i = await host.request<InitializeResult>('initialize', { clientInfo: { name: 'chutes-rpc-demo', version: '1' } });
    print(`${s.cyan('→ initialize')}`);
    print(
      `  ${i.serverInfo.name} ${i.serverInfo.version}, protocol ${i.protocolVersion}, framing ${i.framing}, ${i.capabilities.methods.length} methods`,
    );
    print(`  default model ${i.provider.defaultModel}, signed in: ${i.auth.authenticated ? i.auth.method : 'no'}\n`);

    const found = await host.request<ModelsDiscoverResult>('models.discover', {});
    print(
      `${s.cyan('→ models.discover')}  source ${found.source}, ${found.models.length} models, ${found.models.filter((m) => m.tee).length} in TEEs`,
    );
    const width = Math.max(...found.models.slice(0, 8).map((m) => m.id.length));
    print(
      s.dim(
        `  ${'MODEL'.padEnd(width)} ${'TEE'.padEnd(4)} ${'CONTEXT'.padStart(8)} ${'IN $/1M'.padStart(8)} ${'OUT $/1M'.padStart(9)}  CAPABILITIES`,
      ),
    );
    for (const m of found.models.slice(0, 8)) print(`  ${modelRow(m, width)}`);
    if (found.models.length > 8) print(s.dim(`  … and ${found.models.length - 8} more (chutes-rpc models list)`));
    print();

    await stream('zai-org/GLM-4.7-Flash  "Write a haiku about confidential computing"', {
      model: 'chutes/zai-org/GLM-4.7-Flash',
      messages: [{ role: 'user', content: 'Write a haiku about confidential computing.' }],
    });

    const question: ChatMessage = { role: 'user', content: "What's the weather in Lisbon?" };
    const first = await stream('moonshotai/Kimi-K2.5-TEE  "What\'s the weather in Lisbon?"  with tool get_weather', {
      model: 'moonshotai/Kimi-K2.5-TEE',
      messages: [question],
      tools: [WEATHER_TOOL],
      toolChoice: 'auto',
    });
    const call = first instanceof RpcError ? undefined : first.message.toolCalls?.[0];
    if (call) {
      const toolResult = { city: 'Lisbon', temperature_c: 21, conditions: 'sunny', wind: 'light NW' };
      print(`  ${s.bold('⚙ the model calls')} ${call.name}(${call.arguments})`);
      print(`  ${s.bold('⚙ the host runs it')} → ${JSON.stringify(toolResult)}\n`);
      await stream('moonshotai/Kimi-K2.5-TEE  with the tool result', {
        model: 'moonshotai/Kimi-K2.5-TEE',
        messages: [
          question,
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }],
          },
          { role: 'tool', tool_call_id: call.id, content: JSON.stringify(toolResult) },
        ],
        tools: [WEATHER_TOOL],
      });
    }

    const cancelled = await stream(
      'zai-org/GLM-4.7-Flash  "Tell me a long story"  (the host cancels it after 15 deltas)',
      {
        model: 'chutes/zai-org/GLM-4.7-Flash',
        messages: [{ role: 'user', content: 'Tell me a long story.' }],
        maxTokens: 2048,
      },
      15,
    );

    await host.request('shutdown', {});
    host.notify('exit');
    const { code } = await host.exited;
    print(`${s.cyan('→ shutdown, exit')}  the adapter exited with code ${code}`);
    const ok = code === 0 && !!call && cancelled instanceof RpcError && cancelled.cancelled;
    if (!ok && host.stderr) process.stderr.write(host.stderr);
    if (ok) {
      print();
      print(s.bold('Next:') + ' write your own host (examples/python/chutes_host.py is a complete one, docs/protocol.md the contract),');
      print('  log in for real (chutes-rpc onboard), then try: chutes-rpc chat "Hello!"');
    }
    return ok ? 0 : 1;
  } finally {
    // Also when a request failed or the session was stopped: nothing is left running or on disk.
    opts.signal?.removeEventListener('abort', stop);
    await host.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** The stream's result, or the error it ended with. */
function replyOf(chat: ChatStream): Promise<ChatResult | RpcError> {
  return chat.result.catch((err: unknown) => {
    if (err instanceof RpcError) return err;
    throw err;
  });
}

function modelRow(m: Model, width: number): string {
  const caps = Object.entries(m.capabilities)
    .filter(([, v]) => v)
    .map(([k]) => k)
    .join(' ');
  const price = (v: number | null) => (v === null ? '—' : v.toFixed(2));
  return `${m.id.padEnd(width)} ${(m.tee ? 'yes' : 'no').padEnd(4)} ${String(m.contextWindow).padStart(8)} ${price(m.pricing.input).padStart(8)} ${price(m.pricing.output).padStart(9)}  ${caps}`;
}
