import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { cleanEnv, ROOT } from '../helpers/rpc-process';

const run = promisify(execFile);
const opts = { cwd: ROOT, env: cleanEnv(), timeout: 60_000 };

// The examples replay the recorded demo traffic; running them here keeps them from rotting.
describe('examples', () => {
  it('python (standard library only): discovery, streaming, a tool round trip, a cancellation', async () => {
    const { stdout } = await run('python3', [path.join('examples', 'python', 'chutes_host.py')], opts);
    expect(stdout).toMatch(/^connected to chutes-rpc \S+ \(ndjson\)$/m);
    expect(stdout).toMatch(/^7 TEE models \(live\)/m);
    expect(stdout).toContain('Sealed in silicon,\nthoughts run where no eye can reach —\nproof, not promises.');
    expect(stdout).toContain("tool call: get_weather({'city': 'Lisbon', 'unit': 'celsius'})");
    expect(stdout).toContain('It is 21 °C and sunny in Lisbon');
    expect(stdout).toMatch(/cancelled after 10 deltas: -32800 Request cancelled; kept \d+ characters/);
    expect(stdout).toMatch(/adapter exited with 0$/m);
  });

  it('shell (bash and jq): discover.sh lists TEE models as TSV', async () => {
    const { stdout } = await run('bash', [path.join('examples', 'shell', 'discover.sh'), '--tee-only'], opts);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe('source: live, 7 models');
    expect(lines.slice(1)).toHaveLength(7);
    for (const l of lines.slice(1)) expect(l.split('\t')[1]).toBe('TEE');
    expect(lines).toContain('chutes/moonshotai/Kimi-K2.5-TEE\tTEE\t262144\t0.45\t2.2');
  });

  it('shell (bash and jq): chat.sh streams the reply text, then the finish reason and usage', async () => {
    const { stdout } = await run('bash', [path.join('examples', 'shell', 'chat.sh'), 'Write a haiku'], opts);
    expect(stdout).toBe(
      'Sealed in silicon,\nthoughts run where no eye can reach —\nproof, not promises.\n[stop, 65 tokens, served by chutes/zai-org/GLM-4.7-Flash]\n',
    );
  });
});

describe('npm run demo', () => {
  it('runs the whole scripted session offline and exits 0', async () => {
    const { stdout } = await run(process.execPath, [path.join('bin', 'chutes-rpc'), 'demo'], opts);
    expect(stdout).toContain('→ models.discover  source live, 11 models, 7 in TEEs');
    expect(stdout).toContain('proof, not promises.');
    expect(stdout).toContain('⚙ the model calls get_weather({"city": "Lisbon", "unit": "celsius"})');
    expect(stdout).toMatch(/✗ -32800 Request cancelled · after 15 deltas; data.partial keeps \d+ characters/);
    expect(stdout).toContain('the adapter exited with code 0');
  });
});
