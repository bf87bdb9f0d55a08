import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { chatHome, event, liveModel, startSse, startUpstream, type Upstream, wireChunk } from '../helpers/chat-upstream';
import { BIN, cleanEnv } from '../helpers/rpc-process';

const EVENTS = 8000;
const PIECE = 4096;
const TOTAL = EVENTS * PIECE; // 32 MiB of text

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a slow host', () => {
  let up: Upstream;
  /** Bytes the upstream has handed to its socket so far. */
  let written = 0;

  beforeAll(async () => {
    up = await startUpstream();
    up.models.push(liveModel('acme/Flood', false));
    up.scripts.set('acme/Flood', async (_req, res) => {
      startSse(res);
      for (let i = 0; i < EVENTS && !res.destroyed; i++) {
        const text = `${i}:`.padEnd(PIECE, 'x');
        const data = event(wireChunk('acme/Flood', { content: text }));
        written += data.length;
        // An honest server: it waits when the client does not read.
        if (!res.write(data)) await new Promise((r) => res.once('drain', r));
      }
      res.end(event('[DONE]'));
    });
  });
  afterAll(() => up.close());

  it('stops the upstream instead of buffering, keeps memory flat, and then delivers everything in order', async () => {
    const child = spawn(process.execPath, [BIN, 'serve'], {
      env: cleanEnv({ CHUTES_RPC_HOME: chatHome(up) }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => (stderr += c));
    try {
      // A host that parses NDJSON as it reads (the reply is one 32 MiB line: pieces are joined once).
      let pending: string[] = [];
      let deltas = 0;
      let reply: any;
      let firstDelta!: () => void;
      const started = new Promise<void>((r) => (firstDelta = r));
      let done!: () => void;
      const finished = new Promise<void>((r) => (done = r));
      const problems: string[] = [];
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (text: string) => {
        pending.push(text);
        if (!text.includes('\n')) return;
        const lines = pending.join('').split('\n');
        pending = [lines.pop()!];
        for (const line of lines) {
          const m = JSON.parse(line);
          if (m.method === 'chat.delta') {
            if (m.params.seq !== deltas) problems.push(`seq ${m.params.seq} where ${deltas} was due`);
            if (!m.params.content.startsWith(`${deltas}:`) || m.params.content.length !== PIECE) problems.push(`bad content at ${deltas}`);
            deltas++;
            if (deltas === 1) firstDelta();
          } else if (m.id === 1) {
            reply = m;
            done();
          }
        }
      });
      child.stdin.write(
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'chat.stream',
          params: { model: 'acme/Flood', messages: [{ role: 'user', content: 'go' }] },
        }) + '\n',
      );

      await started;
      child.stdout.pause();
      const rssAtPause = rssBytes(child.pid!);
      // Let whatever can be buffered be buffered.
      let last = -1;
      for (let i = 0; i < 40 && written !== last; i++) {
        last = written;
        await sleep(150);
      }
      const stalledAt = written;
      await sleep(500);
      const rssPaused = rssBytes(child.pid!);

      expect(written - stalledAt).toBeLessThan(64 * 1024); // the upstream is stopped, not trickling
      expect(stalledAt).toBeLessThan(TOTAL / 4); // and stopped early: at most socket and pipe buffers are in flight
      expect(rssPaused - rssAtPause).toBeLessThan(24 * 1024 * 1024);
      expect(rssPaused).toBeLessThan(150 * 1024 * 1024);

      child.stdout.resume();
      await finished;
      expect(problems).toEqual([]);
      expect(deltas).toBe(EVENTS);
      expect(reply.result.message.content.length).toBe(TOTAL);
      expect(reply.result.attempts).toBe(1);
    } finally {
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
    }
    expect(stderr).toBe('');
  });
});
