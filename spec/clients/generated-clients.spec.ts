import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers/rpc-process';

const run = promisify(execFile);
const GENERATOR = path.join(ROOT, 'scripts', 'generate-clients.js');
const openrpc = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'openrpc.json'), 'utf8')) as { methods: { name: string }[] };
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), 'utf8');
const words = (name: string) => name.split(/[^A-Za-z0-9]+|(?=[A-Z])/).filter(Boolean);
const snake = (name: string) =>
  words(name)
    .map((w) => w.toLowerCase())
    .join('_');
const pascal = (name: string) =>
  words(name)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');
const goPascal = (name: string) => pascal(name).replace(/Id|Url|Uri|Json|Http|Usd|Api/g, (w) => w.toUpperCase());
const camel = (name: string) => pascal(name)[0]!.toLowerCase() + pascal(name).slice(1);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-generated-clients-'));

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

// Generated from prettier-formatting code, which jest's module sandbox cannot load: run as node does.
describe('generated clients (scripts/generate-clients.js from schemas/openrpc.json)', () => {
  it('are up to date: every committed generated file is what the generator makes of the schemas now', async () => {
    const check = await run(process.execPath, [GENERATOR, '--check'], { cwd: ROOT }).then(
      () => 'up to date',
      (err: { stderr: string }) => err.stderr,
    );
    expect(check).toBe('up to date');
  });

  it('are stale once a method is added to the schemas (the check can fail), and the new method gets its wrappers', async () => {
    const doc = {
      ...openrpc,
      methods: [...openrpc.methods, { name: 'account.quota', params: [], result: { name: 'result', schema: { type: 'null' } } }],
    };
    const docFile = path.join(work, 'openrpc.json');
    fs.writeFileSync(docFile, JSON.stringify(doc));
    const check = await run(process.execPath, [GENERATOR, '--check', '--openrpc', docFile], { cwd: ROOT }).then(
      () => '',
      (err: { stderr: string }) => err.stderr,
    );
    for (const rel of ['clients/python/src/chutes_rpc/methods.py', 'clients/go/methods.go', 'lib/client/typed-methods.ts'])
      expect(check).toContain(rel);
    await run(process.execPath, [GENERATOR, '--openrpc', docFile, '--out', work], { cwd: ROOT });
    const out = (rel: string) => fs.readFileSync(path.join(work, rel), 'utf8');
    expect(out('clients/python/src/chutes_rpc/methods.py')).toContain('def account_quota(self) -> None:');
    expect(out('clients/go/methods.go')).toContain('func (c *Client) AccountQuota(ctx context.Context) error {');
    expect(out('lib/client/typed-methods.ts')).toContain('accountQuota(options?: CallOptions)');
  });

  // $/ methods (cancellation) have no generated wrapper: each client sends them itself (cancel(),
  // Cancel(), contexts, signals, leaving a stream), which the client suites exercise.
  it("leaves $/ methods to each client's own cancel", () => {
    for (const name of openrpc.methods.map((m) => m.name).filter((n) => n.startsWith('$/'))) {
      expect(read('clients/python/src/chutes_rpc/methods.py')).not.toContain(JSON.stringify(name));
      expect(read('clients/go/methods.go')).not.toContain(JSON.stringify(name));
    }
    expect(read('clients/python/src/chutes_rpc/client.py')).toContain('"$/cancelRequest"');
    expect(read('clients/python/src/chutes_rpc/async_client.py')).toContain('"$/cancelRequest"');
    expect(read('clients/go/client.go')).toContain('"$/cancelRequest"');
    expect(read('lib/client/host-client.ts')).toContain("'$/cancelRequest'");
  });

  it.each(openrpc.methods.filter((m) => !m.name.startsWith('$/')).map((m) => [m.name]))(
    '%s has a typed wrapper in the Python, Go and TypeScript clients',
    (name) => {
      const py = read('clients/python/src/chutes_rpc/methods.py');
      expect(py.match(new RegExp(`^    (async )?def ${snake(name)}\\(`, 'gm'))).toHaveLength(2); // Client and AsyncClient
      expect(read('clients/go/methods.go')).toMatch(new RegExp(`^func \\(c \\*Client\\) ${goPascal(name)}\\(`, 'm'));
      expect(read('lib/client/typed-methods.ts')).toMatch(new RegExp(`^  ${camel(name)}\\(`, 'm'));
    },
  );
});
