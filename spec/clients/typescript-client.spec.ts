import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ChatMessage, Client, type Framing, RpcError, start } from '../../lib/client';
import { BIN, cleanEnv, ROOT } from '../helpers/rpc-process';
import { adapterLifetimeAfterHostKilled } from './killed-host';

// The TypeScript client (chutes-rpc/client) through the same host scenario as the Python and Go
// clients, on recorded cassettes, over both framings.
const CASSETTES = path.join(ROOT, 'fixtures', 'cassettes');
const HAIKU = 'Sealed in silicon,\nthoughts run where no eye can reach —\nproof, not promises.';
const WEATHER = { type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } };
const user = (content: string): [ChatMessage] => [{ role: 'user', content }];
const homes: string[] = [];

function startClient(framing: Framing, cassette: string): Client {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-ts-client-'));
  homes.push(home);
  return start({
    command: [process.execPath, BIN],
    args: ['--replay', path.join(CASSETTES, cassette)],
    framing,
    env: cleanEnv({ CHUTES_API_KEY: 'cpk_test_ts_client', CHUTES_RPC_HOME: home }),
  });
}

afterAll(() => homes.forEach((h) => fs.rmSync(h, { recursive: true, force: true })));

describe.each<Framing>(['ndjson', 'lsp'])('TypeScript client over %s', (framing) => {
  it('initialize, discover, a streamed answer, a tool call round trip, a cancelled stream, shutdown', async () => {
    const client = startClient(framing, 'demo.json');
    try {
      expect((await client.initialize({ clientInfo: { name: 'ts-test' } })).framing).toBe(framing);
      const found = await client.modelsDiscover({ teeOnly: true });
      expect([found.source, found.models.length]).toEqual(['live', 7]);

      const haiku = client.chatStream({ model: 'chutes/zai-org/GLM-4.7-Flash', messages: user('haiku') });
      let text = '';
      for await (const delta of haiku) text += delta.content ?? '';
      expect(text).toBe(HAIKU);
      expect((await haiku.result).message.content).toBe(HAIKU);

      const question = user("What's the weather in Lisbon?")[0];
      const first = await client.chatComplete({
        model: 'moonshotai/Kimi-K2.5-TEE',
        messages: [question],
        tools: [WEATHER],
        toolChoice: 'auto',
      });
      const call = first.message.toolCalls![0]!;
      expect([call.name, JSON.parse(call.arguments).city]).toEqual(['get_weather', 'Lisbon']);
      const answer = await client.chatComplete({
        model: 'moonshotai/Kimi-K2.5-TEE',
        messages: [
          question,
          {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }],
          },
          { role: 'tool', tool_call_id: call.id, content: '{"temperature_c": 21}' },
        ],
        tools: [WEATHER],
      });
      expect(answer.message.content).toContain('21 °C');

      const story = client.chatStream({ model: 'zai-org/GLM-4.7-Flash', messages: user('story'), maxTokens: 2048 });
      let seen = 0;
      for await (const _ of story) if (++seen === 5) break; // leaving the loop cancels upstream
      const cancelled = await story.result.then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(cancelled).toBeInstanceOf(RpcError);
      expect((cancelled as RpcError).cancelled).toBe(true);
      expect((cancelled as RpcError).data.partial.content.length).toBeGreaterThan(0);
    } finally {
      expect(await client.close()).toBe(0);
    }
  });

  it('two concurrent streams, and an error with its resolution', async () => {
    const client = startClient(framing, 'conformance-concurrent.json');
    const failing = startClient(framing, 'conformance-chat-errors.json');
    try {
      const arrivals: string[] = [];
      const run = async (model: string) => {
        let text = '';
        for await (const d of client.chatStream({ model, messages: user('count') })) {
          arrivals.push(model);
          text += d.content ?? '';
        }
        return text;
      };
      expect(await Promise.all([run('zai-org/GLM-4.7-Flash'), run('Qwen/Qwen3-32B-TEE')])).toEqual([
        'one two three four five six seven eight',
        'eins zwei drei vier fünf sechs',
      ]);
      expect(arrivals.filter((m, i) => i > 0 && m !== arrivals[i - 1]).length).toBeGreaterThan(1);

      const err = await failing.chatComplete({ model: 'test/http-401', messages: user('hi') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RpcError);
      const { code, type, retryable, resolution } = err as RpcError;
      expect({ code, type, retryable, resolved: Boolean(resolution) }).toEqual({
        code: -32001,
        type: 'unauthorized',
        retryable: false,
        resolved: true,
      });
    } finally {
      await Promise.all([client.close(), failing.close()]);
    }
  });
});

describe('chutes-rpc/client as a package', () => {
  it('resolves by its package name, and killing the host process leaves no adapter running', async () => {
    const host = [
      "const { start } = require('chutes-rpc/client');",
      `const client = start({ command: [process.execPath, ${JSON.stringify(BIN)}], args: ['--replay', ${JSON.stringify(path.join(CASSETTES, 'conformance-slow.json'))}] });`,
      "client.chatStream({ messages: [{ role: 'user', content: 'a long story' }] });",
      "console.log('adapter', client.pid);",
      'setInterval(() => undefined, 1000);',
    ].join('\n');
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-ts-client-'));
    homes.push(home);
    const env = cleanEnv({ CHUTES_API_KEY: 'cpk_test_ts_client', CHUTES_RPC_HOME: home });
    // Run from the repository: Node resolves a package's own name through its "exports".
    const ms = await adapterLifetimeAfterHostKilled(process.execPath, ['-e', host], { ...env, NODE_PATH: '' }, 10_000);
    expect(ms).toBeLessThan(10_000);
  });
});
