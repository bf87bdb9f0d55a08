import { chatHome, startSse, startUpstream, event, wireChunk } from '../helpers/chat-upstream';
import { RpcProcess } from '../helpers/rpc-process';

const KEY = 'cpk_echoed0from0host.input';

describe('input that holds a key is never echoed back whole', () => {
  it('in method names, params keys, profile names, config paths and model ids', async () => {
    const up = await startUpstream();
    up.scripts.set(KEY, (_req, res) => {
      startSse(res);
      res.end(event(wireChunk(KEY, { content: `the model may say ${KEY}` })) + event('[DONE]'));
    });
    const p = new RpcProcess({ home: chatHome(up, { apiKey: 'cpk_test_fake_key' }) });
    try {
      await Promise.all([
        p.request(KEY, {}),
        p.request('config.validate', { [KEY]: 1 }),
        p.request('auth.status', { profile: KEY }),
        p.request('config.validate', { path: `/nonexistent/${KEY}` }),
        p.request('auth.login', { method: 'apiKey', apiKey: KEY, profile: KEY, verify: false }),
        p.request('initialize', { clientInfo: { name: KEY } }),
      ]);
      const chat = await p.request('chat.complete', { model: KEY, messages: [{ role: 'user', content: 'x' }] });
      // The model's own words are its answer, passed on as they are; the model id is not.
      expect(chat.result.message.content).toBe(`the model may say ${KEY}`);
      expect(chat.result.model).not.toContain(KEY);
      const rest = p.messages.filter((m) => m !== chat);
      expect(JSON.stringify(rest)).not.toContain('echoed0from0host');
      expect(p.stderr).not.toContain('echoed0from0host');
    } finally {
      await p.stop();
      await up.close();
    }
  });
});
