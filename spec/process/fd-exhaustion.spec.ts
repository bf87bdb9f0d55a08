import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { chatHome, event, startSse, startUpstream, type Upstream, wireChunk } from '../helpers/chat-upstream';
import { BIN, cleanEnv } from '../helpers/rpc-process';
import { NdjsonDecoder } from '../../lib/server/framing/ndjson-decoder';

const FD_LIMIT = 64;
const STREAMS = 80;

const openFds = (pid: number) => fs.readdirSync(`/proc/${pid}/fd`).length;

describe(`a burst of streams under a ${FD_LIMIT}-descriptor limit`, () => {
  let up: Upstream;
  const held: Array<() => void> = [];
  beforeAll(async () => {
    up = await startUpstream();
    up.scripts.set('held', (_req, res) => {
      startSse(res);
      res.write(event(wireChunk('held', { content: 'waiting' })));
      held.push(() => res.end(event('[DONE]')));
    });
  });
  afterAll(() => up.close());

  it('fails the calls that find no descriptor as network_error with a resolution, answers the others, and lets the descriptors go', async () => {
    const child = spawn(
      '/bin/sh',
      ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, BIN, 'serve', '--framing', 'ndjson'],
      {
        env: cleanEnv({ CHUTES_RPC_HOME: chatHome(up) }),
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const replies = new Map<number, any>();
    const waiting = new Map<number, (m: any) => void>();
    const decoder = new NdjsonDecoder(
      {
        frame: (t) => {
          const m = JSON.parse(t);
          if (m.id === undefined) return;
          replies.set(m.id, m);
          waiting.get(m.id)?.(m);
        },
        oversize: () => undefined,
        malformed: () => undefined,
      },
      1 << 26,
    );
    child.stdout.on('data', (c: Buffer) => decoder.push(c));
    child.stderr.resume();
    const call = (id: number, method: string, params: object) =>
      new Promise<any>((resolve) => {
        waiting.set(id, resolve);
        child.stdin.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n');
      });
    try {
      await call(0, 'initialize', {});
      const baseline = openFds(child.pid!);
      const streams = Array.from({ length: STREAMS }, (_, i) =>
        call(1 + i, 'chat.stream', { model: 'held', messages: [{ role: 'user', content: 'x' }] }),
      );
      // Every stream either holds a connection or has been refused.
      while (held.length + replies.size - 1 < STREAMS) await new Promise((r) => setTimeout(r, 50));
      const refused = [...replies.values()].filter((m) => m.error);
      expect(refused.length).toBeGreaterThan(0);
      for (const m of refused) {
        expect(m.error.code).toBe(-32060);
        expect(m.error.data.resolution).toMatch(/ulimit -n/);
      }
      // A call of another method while the descriptors are used up: what it needs was loaded already.
      expect((await call(1000, 'config.validate', { config: {} })).result).toEqual({ valid: true, errors: [] });
      for (const end of held) end();
      const all = await Promise.all(streams);
      expect(all.filter((m) => m.result).length).toBe(held.length);
      // Idle upstream sockets are closed within seconds.
      const deadline = Date.now() + 15_000;
      while (openFds(child.pid!) > baseline + 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(openFds(child.pid!)).toBeLessThanOrEqual(baseline + 4);
    } finally {
      child.kill('SIGKILL');
    }
  }, 40_000);
});
