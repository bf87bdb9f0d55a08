import { FAKE_KEY, chatHome, startGreetingUpstream, type Upstream } from '../helpers/chat-upstream';
import { RpcProcess } from '../helpers/rpc-process';
import { testTlsOptions } from '../helpers/tee';

const MODEL = 'acme/Quick';

// The service is reached over https by name, as no other process spec reaches its stand-in: the
// first connection then runs the lookup, node's checks of whether the name is an address (compiled
// under the V8 flags: bin/v8-flags.js), TLS on the connection opened ahead of the request
// (lib/chutes/http/connection-ahead.ts) and the certificate store's first build.
describe.each(['ndjson', 'lsp'] as const)('a chat over https to a host name, over %s', (framing) => {
  let up: Upstream;
  let p: RpcProcess;

  beforeAll(async () => {
    up = await startGreetingUpstream(MODEL, testTlsOptions());
    // The stand-in's certificate is self-signed.
    p = new RpcProcess({ framing, home: chatHome(up), env: { NODE_TLS_REJECT_UNAUTHORIZED: '0' } });
  });
  afterAll(async () => {
    await p.stop();
    await up.close();
    expect(p.schemaProblems).toEqual([]);
    expect(p.stderr + p.stdout.toString()).not.toContain(FAKE_KEY);
  });

  it('streams its answer, the first request on the first connection the server accepted', async () => {
    expect(up.url).toMatch(/^https:\/\/localhost:\d+$/);
    const [, r] = await Promise.all([
      p.request('initialize', {}),
      p.request('chat.stream', { model: `chutes/${MODEL}`, messages: [{ role: 'user', content: 'x' }] }),
    ]);
    expect(r.error).toBeUndefined();
    expect(r.result.message.content).toBe('Hi there');
    const chat = up.requests.find((q) => q.method === 'POST' && q.url === '/v1/chat/completions');
    expect(chat?.remotePort).toBe(up.connections[0]);
    expect(up.connections.length).toBeLessThanOrEqual(2); // the chat's, and the model list's
  });
});
