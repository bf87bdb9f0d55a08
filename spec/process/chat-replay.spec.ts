import * as path from 'node:path';
import { FAKE_KEY } from '../helpers/chat-upstream';
import { ROOT, RpcProcess } from '../helpers/rpc-process';

/** chat.stream on the recorded wire shapes (fixtures/cassettes/chat-*.json), served by --replay. */
async function replay(name: string, params: object): Promise<{ p: RpcProcess; reply: any; deltas: any[] }> {
  const p = new RpcProcess({ args: ['--replay', path.join(ROOT, 'fixtures', 'cassettes', name)], env: { CHUTES_API_KEY: FAKE_KEY } });
  try {
    const reply = await p.request('chat.stream', { messages: [{ role: 'user', content: 'Hello!' }], ...params }, 'r');
    const replyAt = p.messages.indexOf(reply);
    const deltas = p.messages.filter((m, i) => m.method === 'chat.delta' && i < replyAt).map((m) => m.params);
    expect(deltas.map((d) => d.seq)).toEqual(deltas.map((_, i) => i));
    expect(p.messages.filter((m) => m.method === 'chat.delta')).toHaveLength(deltas.length);
    expect(p.schemaProblems).toEqual([]);
    return { p, reply, deltas };
  } finally {
    await p.stop();
    expect(p.stderr).not.toContain(FAKE_KEY);
  }
}

describe('chat.stream on recorded streams', () => {
  it('text with reasoning_content, a usage chunk and the Chutes headers (default model)', async () => {
    const { reply, deltas } = await replay('chat-text.json', {});
    expect(deltas).toEqual([
      { streamId: 'r', seq: 0, reasoning: 'The user says hello.' },
      { streamId: 'r', seq: 1, reasoning: ' A short, friendly greeting back.' },
      { streamId: 'r', seq: 2, content: 'Hello' },
      { streamId: 'r', seq: 3, content: '! 👋 How can' },
      { streamId: 'r', seq: 4, content: ' I help you today?' },
    ]);
    expect(reply.result).toMatchObject({
      model: 'chutes/zai-org/GLM-4.7-Flash',
      message: {
        role: 'assistant',
        content: 'Hello! 👋 How can I help you today?',
        reasoning: 'The user says hello. A short, friendly greeting back.',
      },
      finishReason: 'stop',
      usage: { promptTokens: 9, completionTokens: 27, totalTokens: 36, cachedTokens: 0 },
      rateLimit: {
        limit: 60,
        quotaTotal: 5000,
        quotaUsed: 125,
        quotaRemaining: 4875,
        invocationId: '7b1e2c3d-4f5a-4b6c-8d7e-9f0a1b2c3d4e',
      },
      attempts: 1,
    });
  });

  it('reasoning under delta.reasoning', async () => {
    const { reply, deltas } = await replay('chat-reasoning.json', { model: 'chutes/deepseek-ai/DeepSeek-R1-0528-TEE' });
    expect(deltas.map((d) => d.reasoning ?? d.content)).toEqual(['Two plus two', ' is four.', '4']);
    expect(reply.result.message).toEqual({ role: 'assistant', content: '4', reasoning: 'Two plus two is four.' });
  });

  it('429 then 503 then success: attempts 3, one set of deltas', async () => {
    // The 503 is a cold chute's: without warmup: false its warm-up (not in the cassette) is tried first.
    const { reply, deltas } = await replay('chat-retry.json', { warmup: false });
    expect(reply.result.attempts).toBe(3);
    expect(deltas.map((d) => d.content)).toEqual(['Ready now.']);
  });

  it('a raw error after output started: -32050 with the partial message', async () => {
    const { reply, deltas } = await replay('chat-midstream-error.json', {});
    expect(deltas.map((d) => d.content)).toEqual(['Once upon', ' a time']);
    expect(reply.error.code).toBe(-32050);
    expect(reply.error.data).toMatchObject({
      type: 'server_error',
      attempts: 1,
      partial: { role: 'assistant', content: 'Once upon a time' },
    });
  });
});
