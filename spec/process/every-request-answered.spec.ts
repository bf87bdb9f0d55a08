import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LspDecoder } from '../../lib/server/framing/lsp-decoder';
import { NdjsonDecoder } from '../../lib/server/framing/ndjson-decoder';
import { encodeMessage } from '../../lib/server/framing/stream-writer';
import type { Framing } from '../../lib/server/framing/frame-decoder';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'chutes-rpc');

interface Reply {
  id: string | number | null;
  result?: unknown;
  error?: { code: number; message: string };
}

/** Writes `input` in one write, closes stdin, and collects every reply until the process exits. */
function session(framing: Framing, input: string, args: string[] = []): Promise<{ replies: Reply[]; code: number | null; stderr: string }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-home-'));
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CHUTES_')) env[k] = v;
  env.CHUTES_RPC_HOME = home;
  const child = spawn(process.execPath, [BIN, 'serve', '--framing', framing, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const replies: Reply[] = [];
  const sink = { frame: (t: string) => replies.push(JSON.parse(t) as Reply), oversize: () => undefined, malformed: () => undefined };
  const decoder = framing === 'lsp' ? new LspDecoder(sink, 1 << 30) : new NdjsonDecoder(sink, 1 << 30);
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => decoder.push(c));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(input);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      fs.rmSync(home, { recursive: true, force: true });
      resolve({ replies, code, stderr });
    }),
  );
}

const request = (id: string | number, method: string, params: object = {}) => ({ jsonrpc: '2.0', id, method, params });

describe.each(['ndjson', 'lsp'] as const)('every request gets exactly one reply (%s)', (framing) => {
  it('answers ids 1 and "1" (and 2/"2", 3/"3") sent in one write: one reply each, the string twin refused', async () => {
    const msgs = [1, '1', 2, '2', 3, '3'].map((id) => request(id, 'config.validate', { config: {} }));
    const { replies, code } = await session(framing, msgs.map((m) => encodeMessage(m, framing)).join(''), ['--on-eof', 'wait']);
    expect(code).toBe(0);
    const ids = replies.map((r) => JSON.stringify(r.id)).sort();
    expect(ids).toEqual(['"1"', '"2"', '"3"', '1', '2', '3']);
    for (const id of [1, 2, 3]) {
      expect(replies.find((r) => r.id === id)?.result).toEqual({ valid: true, errors: [] });
      const twin = replies.find((r) => r.id === String(id));
      expect(twin?.error?.code).toBe(-32600);
      expect(twin?.error?.message).toMatch(/already used by a request in flight/);
    }
  });
});

describe('end of input', () => {
  it('answers 20,000 queued requests, then exits 0', async () => {
    const n = 20_000;
    let input = '';
    for (let i = 0; i < n; i++)
      input += encodeMessage(request(i, 'chat.complete', { messages: [{ role: 'user', content: 'x' }] }), 'ndjson');
    const { replies, code } = await session('ndjson', input);
    expect(code).toBe(0);
    expect(replies).toHaveLength(n);
    const seen = new Set(replies.map((r) => r.id));
    expect(seen.size).toBe(n);
    // Cancelled by the end of input, or refused for want of a credential: never silence.
    for (const r of replies) expect([-32800, -32010]).toContain(r.error?.code);
  }, 60_000);

  it('with --on-eof wait, lets 2,000 queued requests finish and answers each with its result', async () => {
    let input = '';
    for (let i = 0; i < 2000; i++) input += encodeMessage(request(`r${i}`, 'config.validate', { config: {} }), 'ndjson');
    const { replies, code } = await session('ndjson', input, ['--on-eof', 'wait']);
    expect(code).toBe(0);
    expect(replies).toHaveLength(2000);
    expect(replies.every((r) => (r.result as { valid?: boolean } | undefined)?.valid === true)).toBe(true);
  });
});
