import { spawn } from 'node:child_process';
import { writeConfig } from '../helpers/loopback';
import { cassettePath, DOCS_MODELS, liveBody } from '../helpers/models-fixtures';
import { BIN, cleanEnv, tempHome } from '../helpers/rpc-process';
import { validate } from '../../lib/schema-validation';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], opts: { home?: string; env?: Record<string, string>; shell?: string } = {}): Promise<Run> {
  const home = opts.home ?? tempHome();
  const env = cleanEnv({ CHUTES_RPC_HOME: home, ...opts.env });
  const child = opts.shell
    ? spawn('sh', ['-c', `"${process.execPath}" "${BIN}" ${args.map((a) => `'${a}'`).join(' ')} ${opts.shell}`], { env })
    : spawn(process.execPath, [BIN, ...args], { env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

const demo = liveBody('models-demo.json');
const demoReplay = ['--replay', cassettePath('models-demo.json')];

describe('chutes-rpc models list', () => {
  it('prints a table: a header, then one line per model with its id, TEE flag, sizes, prices and capabilities', async () => {
    const r = await run(['models', 'list', ...demoReplay]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TEE\s+CONTEXT\s+MAX OUT\s+IN \$\/1M\s+OUT \$\/1M\s+CAPABILITIES$/);
    expect(lines).toHaveLength(demo.data.length + 1);
    const kimi = lines.find((l) => l.startsWith('chutes/moonshotai/Kimi-K2.5-TEE '))!;
    expect(kimi.split(/\s+/)).toEqual([
      'chutes/moonshotai/Kimi-K2.5-TEE',
      'yes',
      '262144',
      '65535',
      '0.45',
      '2.2',
      'tools,json,structured,reasoning,vision',
    ]);
    const flash = lines.find((l) => l.startsWith('chutes/zai-org/GLM-4.7-Flash '))!;
    expect(flash.split(/\s+/).slice(1, 3)).toEqual(['no', '202752']);
    expect(r.stderr).toMatch(/^11 models from the live list \(fetched \d{4}-/m);
  });

  it('works with `| grep chutes`: every model line and nothing else', async () => {
    const r = await run(['models', 'list', ...demoReplay], { shell: '| grep chutes' });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(demo.data.length);
    for (const id of DOCS_MODELS) expect(lines.some((l) => l.startsWith(`chutes/${id} `))).toBe(true);
  });

  it('prints the models.discover result as JSON with --json', async () => {
    const r = await run(['models', 'list', '--json', ...demoReplay]);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(validate('result:models.discover', result)).toEqual([]);
    expect(result.source).toBe('live');
    expect(result.models).toHaveLength(demo.data.length);
  });

  it('keeps TEE models only with --tee-only, or with teeOnly in the config unless --no-tee-only', async () => {
    const tee = demo.data.filter((e) => e.confidential_compute).length;
    const flag = await run(['models', 'list', '--tee-only', '--json', ...demoReplay]);
    expect(JSON.parse(flag.stdout).models).toHaveLength(tee);
    const home = tempHome();
    writeConfig(home, { models: { providers: { chutes: { teeOnly: true } } } });
    const fromConfig = await run(['models', 'list', '--json', ...demoReplay], { home });
    expect(JSON.parse(fromConfig.stdout).models).toHaveLength(tee);
    const overridden = await run(['models', 'list', '--no-tee-only', '--json', ...demoReplay], { home });
    expect(JSON.parse(overridden.stdout).models).toHaveLength(demo.data.length);
    expect(tee).toBeLessThan(demo.data.length);
  });

  it('shows the catalog with a warning on stderr when the live list is unavailable, and still exits 0', async () => {
    const r = await run(['models', 'list', '--replay', cassettePath('models-503.json')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^warning: The live model list is unavailable \(GET https:\/\/llm\.chutes\.ai\/v1\/models: HTTP 503/m);
    expect(r.stderr).toMatch(/models from the curated catalog/);
    for (const id of DOCS_MODELS) expect(r.stdout).toContain(`chutes/${id} `);
  });

  it('exits 1 naming the problem when the config is invalid', async () => {
    const home = tempHome();
    writeConfig(home, { models: { providers: { chutes: { teeOnly: 'sometimes' } } } });
    const r = await run(['models', 'list', ...demoReplay], { home });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('/models/providers/chutes/teeOnly');
    expect(r.stderr).toMatch(/\n {2}what to do: .*config validate/);
  });

  it('exits 2 for a --replay file that does not exist', async () => {
    const r = await run(['models', 'list', '--replay', '/nonexistent/cassette.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('file not found');
  });

  it('asks for an action when given none', async () => {
    const r = await run(['models']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('models list');
  });
});
