import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { once } from 'node:events';
import { BIN, cleanEnv, tempHome } from '../helpers/rpc-process';
import { encodeMessage } from '../../lib/server/framing/stream-writer';

/** Bytes the process has read so far (all its reads: stdin, and the modules it loads). */
function bytesRead(pid: number): number {
  return Number(/rchar:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/io`, 'utf8'))?.[1] ?? 0);
}

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** Resolves once `sample` has not changed for a second (or after 20 s). */
async function settled(sample: () => number): Promise<number> {
  let last = -1;
  let same = 0;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline && same < 4;) {
    const v = sample();
    same = v === last ? same + 1 : 0;
    last = v;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

const INPUT_BYTES = 1024 * 1024;

describe('a host that does not read its replies', () => {
  it.each([
    ['ndjson', 'requests'],
    ['lsp', 'malformed frames'],
  ] as const)(
    '(%s) gets its stdin paused after a bounded backlog of %s, and every reply once it reads',
    async (framing, kind) => {
      const child = spawn(process.execPath, [BIN, 'serve', '--framing', framing, '--on-eof', 'wait'], {
        env: cleanEnv({ CHUTES_RPC_HOME: tempHome() }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      child.stdout.pause();
      child.stderr.resume();
      try {
        const unit =
          kind === 'requests'
            ? (i: number) => encodeMessage({ jsonrpc: '2.0', id: i, method: 'no.such.method' }, framing)
            : (i: number) => (framing === 'lsp' ? `Content-Length: 5\r\n\r\n{xx${i % 10}}` : `{bad ${i % 10}\n`);
        const parts: string[] = [];
        let size = 0;
        let count = 0;
        while (size < INPUT_BYTES) {
          const s = unit(count++);
          parts.push(s);
          size += s.length;
        }
        // Warm-up: the process has loaded what answering needs.
        child.stdin.write(unit(0));
        count++;
        await once(child.stdout, 'readable');
        const before = bytesRead(child.pid!);
        child.stdin.write(parts.join(''));
        child.stdin.end();
        const accepted = (await settled(() => bytesRead(child.pid!))) - before;
        expect(accepted).toBeLessThan(INPUT_BYTES / 3);
        expect(rssMiB(child.pid!)).toBeLessThan(200);

        let replies = 0;
        let tail = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk: string) => {
          const text = tail + chunk;
          const marker = framing === 'lsp' ? 'Content-Length' : '\n';
          replies += text.split(marker).length - 1;
          tail = text.slice(text.lastIndexOf(marker) + marker.length);
        });
        child.stdout.resume();
        const [code] = (await once(child, 'exit')) as [number];
        expect(code).toBe(0);
        expect(replies).toBe(count);
      } finally {
        child.kill('SIGKILL');
      }
    },
    60_000,
  );
});
