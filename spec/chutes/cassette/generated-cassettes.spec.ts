import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../../helpers/rpc-process';

/**
 * The cassettes scripts/make-live-cassettes.js records (through `serve --record`, from its loopback
 * mock of the 2026 wire) are committed exactly as it writes them: a cassette edited by hand, or a
 * mock changed without re-recording (`npm run cassettes`), fails here. Recording runs an adapter
 * process per cassette, so this takes a while on a busy machine.
 */
const SCRIPT = path.join(ROOT, 'scripts', 'make-live-cassettes.js');
const { SESSIONS } = require(SCRIPT) as { SESSIONS: Record<string, unknown> };

function run(out: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [SCRIPT, '--out', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('recorded cassettes', () => {
  it('covers the chat, conformance, demo and model-list cassettes', () => {
    expect(Object.keys(SESSIONS)).toEqual(
      expect.arrayContaining(['chat-text', 'chat-tools', 'chat-retry', 'chat-midstream-error', 'demo', 'live-2026', 'models-demo']),
    );
  });

  it('are what scripts/make-live-cassettes.js records today, byte for byte', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cassettes-'));
    try {
      const r = await run(out);
      expect(r).toMatchObject({ code: 0 });
      const drifted = Object.keys(SESSIONS).filter(
        (n) =>
          fs.readFileSync(path.join(out, `${n}.json`), 'utf8') !==
          fs.readFileSync(path.join(ROOT, 'fixtures', 'cassettes', `${n}.json`), 'utf8'),
      );
      expect(drifted).toEqual([]);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  }, 300_000);
});
