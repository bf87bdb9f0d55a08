import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { validate } from '../../lib/schema-validation';
import { CHUTE, type E2eeMock, MOCK_KEY, MODEL, startE2eeMock } from '../helpers/e2ee-mock';
import { writeConfig } from '../helpers/loopback';
import { BIN, cleanEnv, RpcProcess, tempHome } from '../helpers/rpc-process';

function cli(home: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'chat', ...args], {
    env: cleanEnv({ CHUTES_RPC_HOME: home }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

describe('E2EE chat, whole process', () => {
  let mock: E2eeMock;
  let home: string;
  beforeAll(async () => {
    mock = await startE2eeMock();
    home = tempHome();
    writeConfig(home, { models: { providers: { chutes: { baseUrl: `${mock.url}/v1`, apiKey: MOCK_KEY } } } });
  });
  afterAll(() => mock.close());

  it('chat --e2ee require answers through /e2e/invoke; --record keeps the plaintext exchange, which --replay serves offline', async () => {
    const cassette = path.join(home, 'e2ee.json');
    const r = await cli(home, ['--e2ee', 'require', '--json', '--model', MODEL, '--record', cassette, 'Hallo 🔐']);
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout);
    expect(validate('result:chat.stream', result)).toEqual([]);
    expect(result.message.content).toBe('echo: Hallo 🔐');
    expect(result.e2ee).toEqual({ chuteId: CHUTE, instanceId: 'inst-0', attested: false });
    expect(mock.invokes).toHaveLength(1);

    const recorded = JSON.parse(fs.readFileSync(cassette, 'utf8'));
    const urls = recorded.interactions.map((i: any) => new URL(i.request.url).pathname);
    expect(urls).toEqual(['/v1/models', '/e2e/invoke']); // discovery and ciphertext are not kept
    expect(recorded.interactions[1].request.body.messages[0].content).toBe('Hallo 🔐');
    expect(recorded.interactions[1].response.headers['x-e2e-instance-id']).toBe('inst-0');

    await mock.close(); // nothing left to answer: the replay must not need the network
    const again = await cli(home, ['--e2ee', 'require', '--json', '--model', MODEL, '--replay', cassette, 'Hallo 🔐']);
    expect(again.stderr).toBe('');
    expect(JSON.parse(again.stdout)).toMatchObject({ message: { content: 'echo: Hallo 🔐' }, e2ee: { instanceId: 'inst-0' } });
    mock = await startE2eeMock();
  });

  it('chat.stream with e2ee refuses a failover list with -32602', async () => {
    const rpc = new RpcProcess({ home });
    try {
      const reply = await rpc.request('chat.stream', {
        model: `${MODEL},acme/Other`,
        e2ee: 'require',
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(reply.error).toMatchObject({ code: -32602, data: { errors: [{ path: '/model' }] } });
    } finally {
      await rpc.stop();
    }
  });
});
