import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Credential } from '../../../lib/chutes/credentials';
import { credentialFingerprint, Pacer } from '../../../lib/chutes/pacing/pacer';
import { LOCK_STALE_MS } from '../../../lib/chutes/pacing/pacing-file';
import { Logger } from '../../../lib/log/logger';
import { tempHome } from '../../helpers/rpc-process';

const KEY = 'cpk_0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef.abcdefghijklmnopqrstuvwxyz012345';
const credential: Credential = { method: 'apiKey', token: KEY, source: 'config' };
const WINDOW = 400;

function pacer(home: string, rpm = 3, warnings: string[] = []): Pacer {
  const log = new Logger((line) => void warnings.push(line));
  return new Pacer(home, { requestsPerMinute: rpm, configured: false }, log, WINDOW);
}

async function paced(p: Pacer, n: number, waits: number[] = []): Promise<number[]> {
  const sent: number[] = [];
  await Promise.all(
    Array.from({ length: n }, async () => {
      await p.pace({ credential, chute: 'acme/M', signal: new AbortController().signal, onWait: (w) => void waits.push(w.delayMs) });
      sent.push(Date.now());
    }),
  );
  return sent.sort((a, b) => a - b);
}

/** The most sends any window holds, with `slack` ms for timer jitter. */
function busiest(times: number[], slack = 25): number {
  let most = 0;
  for (const end of times) most = Math.max(most, times.filter((t) => t > end - WINDOW + slack && t <= end).length);
  return most;
}

describe('the pacer', () => {
  it('sends the budget at once and makes the rest wait, announcing each wait', async () => {
    const waits: number[] = [];
    const sent = await paced(pacer(tempHome()), 7, waits);
    expect(sent).toHaveLength(7);
    expect(busiest(sent)).toBeLessThanOrEqual(3);
    expect(waits).toHaveLength(4);
    expect(sent[6]! - sent[0]!).toBeGreaterThanOrEqual(2 * WINDOW - 25);
  });

  it('shares the budget between pacers of one home (as between processes), through a 0600 file with no secret in it', async () => {
    const home = tempHome();
    const [a, b] = await Promise.all([paced(pacer(home), 4), paced(pacer(home), 4)]);
    expect(busiest([...a, ...b].sort((x, y) => x - y))).toBeLessThanOrEqual(3);
    const file = path.join(home, 'pacing.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain('cpk_');
    expect(Object.keys(JSON.parse(text).buckets)).toEqual([credentialFingerprint(credential)]);
  });

  it('a cancelled wait rejects with the reason and gives its slot back', async () => {
    const home = tempHome();
    const p = pacer(home, 1);
    await paced(p, 1);
    const ac = new AbortController();
    const waiting = p.pace({ credential, chute: 'acme/M', signal: ac.signal, onWait: () => ac.abort(new Error('cancelled')) });
    await expect(waiting).rejects.toThrow('cancelled');
    const state = JSON.parse(fs.readFileSync(path.join(home, 'pacing.json'), 'utf8'));
    expect(state.buckets[credentialFingerprint(credential)].sent).toHaveLength(1);
  });

  it('follows X-Chutes-RL-User: "inf" stops pacing, a number sets the budget, shared through the file', async () => {
    const home = tempHome();
    const p = pacer(home, 1);
    await p.observe(credential, 'acme/M', { 'x-chutes-rl-user': 'inf' });
    const waits: number[] = [];
    await paced(p, 5, waits);
    expect(waits).toEqual([]);
    await p.observe(credential, 'acme/M', { 'x-chutes-rl-user': '2' });
    const other = pacer(home, 1); // another process: learns the limit from the file
    const sent = await paced(other, 4);
    expect(busiest(sent)).toBeLessThanOrEqual(2);
  });

  it('a per-chute limit (X-Chutes-RL-Chute) paces that chute only', async () => {
    const p = pacer(tempHome(), 100);
    await p.observe(credential, 'acme/M', { 'x-chutes-rl-chute': '1' });
    const waits: number[] = [];
    await paced(p, 2, waits);
    expect(waits).toHaveLength(1);
    await p.pace({ credential, chute: 'acme/Other', signal: new AbortController().signal, onWait: () => void waits.push(-1) });
    expect(waits).toHaveLength(1);
  });

  it('is off with a budget of 0, and never creates the file then', async () => {
    const home = tempHome();
    const waits: number[] = [];
    await paced(pacer(home, 0), 10, waits);
    expect(waits).toEqual([]);
    expect(fs.existsSync(path.join(home, 'pacing.json'))).toBe(false);
  });

  it('refuses a pacing.json that is a symbolic link or belongs to someone else, pacing in this process instead', async () => {
    for (const plant of ['link', 'owner'] as const) {
      const home = tempHome();
      const file = path.join(home, 'pacing.json');
      const elsewhere = path.join(tempHome(), 'target.json');
      fs.writeFileSync(elsewhere, '{"version":1,"buckets":{}}', { mode: 0o644 });
      if (plant === 'link') fs.symlinkSync(elsewhere, file);
      else {
        fs.writeFileSync(file, '{"version":1,"buckets":{}}', { mode: 0o600 });
        if (process.getuid?.() !== 0) continue; // only root can give a file away
        fs.chownSync(file, 4242, 4242);
      }
      const warnings: string[] = [];
      const sent = await paced(pacer(home, 2, warnings), 3);
      expect(busiest(sent)).toBeLessThanOrEqual(2);
      expect(warnings.join('\n')).toMatch(plant === 'link' ? /symbolic link/ : /another user/);
      expect(fs.readFileSync(elsewhere, 'utf8')).toBe('{"version":1,"buckets":{}}');
    }
  });

  it('close() waits for the state file updates in flight: the send is recorded and no lock is left', async () => {
    const home = tempHome();
    const p = pacer(home, 3);
    const send = await p.pace({ credential, chute: 'acme/M', signal: new AbortController().signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    // Neither awaited, as the chat call does not await them: close() alone must see them through.
    void p.sent(send);
    void p.observe(credential, 'acme/M', { 'x-chutes-rl-user': '7' });
    await p.close();
    expect(fs.existsSync(path.join(home, 'pacing.json.lock'))).toBe(false);
    const bucket = JSON.parse(fs.readFileSync(path.join(home, 'pacing.json'), 'utf8')).buckets[credentialFingerprint(credential)];
    expect(bucket.server).toBe(7);
    expect(bucket.sent).toHaveLength(1);
    expect(bucket.sent[0]).toBeGreaterThan(send!.at);
  });

  it('takes over a lock its holder died with once it is stale, without giving up the shared file', async () => {
    const home = tempHome();
    const lock = path.join(home, 'pacing.json.lock');
    fs.mkdirSync(lock);
    const warnings: string[] = [];
    const t0 = Date.now();
    await paced(pacer(home, 3, warnings), 1);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(LOCK_STALE_MS - 1_000);
    expect(warnings).toEqual([]);
    expect(fs.existsSync(lock)).toBe(false);
    expect(
      JSON.parse(fs.readFileSync(path.join(home, 'pacing.json'), 'utf8')).buckets[credentialFingerprint(credential)].sent,
    ).toHaveLength(1);
  });

  it('starts afresh from a damaged state file', async () => {
    const home = tempHome();
    fs.writeFileSync(path.join(home, 'pacing.json'), '{not json', { mode: 0o600 });
    const sent = await paced(pacer(home, 2), 3);
    expect(busiest(sent)).toBeLessThanOrEqual(2);
    expect(JSON.parse(fs.readFileSync(path.join(home, 'pacing.json'), 'utf8')).version).toBe(1);
  });
});
