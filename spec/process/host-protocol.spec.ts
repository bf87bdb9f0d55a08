import { chatHome, event, startSse, startUpstream, type Upstream, wireChunk } from '../helpers/chat-upstream';
import { RpcProcess, withServer } from '../helpers/rpc-process';

const user = [{ role: 'user', content: 'hi' }];

describe('the protocol hosts can watch', () => {
  it('answers ping with an empty object, and takes initialized / notifications/initialized silently', async () => {
    await withServer({}, async (p) => {
      p.notify('initialized', {});
      p.notify('notifications/initialized');
      expect((await p.request('ping')).result).toEqual({});
      expect((await p.request('ping', {})).result).toEqual({});
      expect(p.notifications).toEqual([]);
      expect(p.stderr).not.toMatch(/initialized/);
    });
  });

  it('negotiates the protocol version: the highest common one, or -32602 listing its own', async () => {
    await withServer({}, async (p) => {
      const ok = await p.request('initialize', { protocolVersions: ['0', '1', '7'] });
      expect(ok.result.protocolVersion).toBe('1');
      expect(ok.result.capabilities.protocolVersions).toEqual(['1']);
      expect(ok.result.capabilities.features).toEqual(expect.arrayContaining(['ping', 'cancelNotification', 'logSetLevel', 'e2ee']));
      const none = await p.request('initialize', { protocolVersions: ['7', '8'] });
      expect(none.error?.code).toBe(-32602);
      expect(none.error?.data).toMatchObject({ type: 'unsupported_protocol_version', supportedVersions: ['1'] });
      // An MCP host's lone protocolVersion is its MCP version: answered with ours, as MCP says.
      expect((await p.request('initialize', { protocolVersion: '2025-06-18' })).result.protocolVersion).toBe('1');
    });
  });

  it('changes log forwarding at run time with log.setLevel, and stops it with off', async () => {
    await withServer({}, async (p) => {
      // An unknown notification is logged at debug; ping after it shows it was handled.
      const debugLines = async () => {
        p.notify('no.such.notification');
        await p.request('ping');
        return p.notifications.filter((m) => m.method === 'log' && /no\.such\.notification/.test(m.params.message)).length;
      };
      expect(await debugLines()).toBe(0);
      expect((await p.request('log.setLevel', { level: 'debug' })).result).toBeNull();
      expect(await debugLines()).toBe(1);
      expect((await p.request('log.setLevel', { level: 'off' })).result).toBeNull();
      expect(await debugLines()).toBe(1);
      expect((await p.request('log.setLevel', { level: 'loud' })).error?.code).toBe(-32602);
    });
  });

  describe('MCP notifications/cancelled', () => {
    let up: Upstream;
    beforeAll(async () => {
      up = await startUpstream();
    });
    afterAll(() => up.close());

    it('cancels like $/cancelRequest: the request gets -32800 with its partial message', async () => {
      up.scripts.set('acme/Slow', (_req, res) => {
        startSse(res);
        res.write(event(wireChunk('acme/Slow', { content: 'Let me think' })));
      });
      const p = new RpcProcess({ home: chatHome(up) });
      try {
        const reply = p.request('chat.stream', { model: 'acme/Slow', messages: user }, 'mcp-1');
        await p.next((m) => m.method === 'chat.delta' && m.params.streamId === 'mcp-1');
        p.notify('notifications/cancelled', { requestId: 'mcp-1', reason: 'user pressed stop' });
        const r = await reply;
        expect(r.error?.code).toBe(-32800);
        expect(r.error?.data.partial).toEqual({ role: 'assistant', content: 'Let me think' });
        // A malformed one is ignored, and the server keeps serving.
        p.notify('notifications/cancelled', {});
        expect((await p.request('ping')).result).toEqual({});
      } finally {
        await p.stop();
      }
    });
  });
});
