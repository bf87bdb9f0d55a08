import { RpcProcess, withServer } from '../helpers/rpc-process';

describe.each(['ndjson', 'lsp'] as const)('whole process over %s', (framing) => {
  it('answers initialize with the detected framing, then shutdown and exit end it with code 0', async () => {
    const p = new RpcProcess({ framing });
    const init = await p.request('initialize', { clientInfo: { name: 'jest' } });
    expect(init.result.framing).toBe(framing);
    expect(init.result.serverInfo.name).toBe('chutes-rpc');
    expect(init.result.capabilities.methods).toEqual(expect.arrayContaining(['initialize', 'shutdown', 'config.validate']));
    expect((await p.request('shutdown')).result).toBeNull();
    p.notify('exit');
    expect((await p.exited).code).toBe(0);
    expect(p.schemaProblems).toEqual([]);
    expect(p.malformedOutput).toEqual([]);
  });

  it('answers an unknown method with -32601 and keeps serving', async () => {
    await withServer({ framing }, async (p) => {
      const r = await p.request('no.such.method', {});
      expect(r.error?.code).toBe(-32601);
      expect((await p.request('config.validate', {})).result.valid).toBe(true);
    });
  });
});
