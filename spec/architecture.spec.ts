import * as fs from 'node:fs';
import * as path from 'node:path';

const LIB = path.resolve(__dirname, '..', 'lib');

/**
 * What each part of lib/ may import (docs/architecture.md draws the same). `util`, `log` and
 * `generated` are leaves everyone may use; `chutes/errors` is the provider's error type, which the
 * config and credential store below the provider throw too.
 */
const ALLOWED: Record<string, readonly string[]> = {
  util: [],
  log: ['util'],
  generated: [],
  'schema-validation': ['generated'],
  server: ['util', 'log'],
  config: ['util', 'log', 'generated', 'schema-validation', 'chutes/errors'],
  store: ['util', 'log', 'generated', 'schema-validation', 'chutes/errors'],
  chutes: ['util', 'log', 'generated', 'schema-validation', 'config', 'store'],
  methods: ['util', 'log', 'generated', 'schema-validation', 'config', 'chutes', 'server'],
  client: ['util', 'generated', 'server/framing'],
  conformance: ['util', 'log', 'generated', 'schema-validation', 'client', 'server/framing'],
  demo: ['util', 'log', 'client'],
  'composition-root': ['util', 'log', 'config', 'chutes', 'server/framing'],
  cli: ['*'],
};

function partOf(rel: string): string {
  const top = rel.split('/')[0]!.replace(/\.ts$/, '');
  return top;
}

function allowed(from: string, target: string): boolean {
  const rules = ALLOWED[from];
  if (!rules) throw new Error(`lib/${from} has no rule in spec/architecture.spec.ts: add one (and to docs/architecture.md)`);
  if (rules.includes('*') || partOf(target) === from) return true;
  return rules.some(
    (r) => target === r || target.startsWith(`${r}/`) || target === `${r}.ts` || target.startsWith(`${r}.`) || partOf(target) === r,
  );
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every project module a file imports or requires, as a path relative to lib/ without extension. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|require\(|import\()\s*'(\.[^']+)'/g)].map((m) => m[1]!);
  return specs
    .map((s) =>
      path
        .relative(LIB, path.resolve(path.dirname(file), s))
        .split(path.sep)
        .join('/'),
    )
    .filter((t) => !t.startsWith('..'));
}

describe('the layers of lib/', () => {
  const files = sourceFiles(LIB).filter((f) => !f.includes(`${path.sep}generated${path.sep}`));

  it('import only what docs/architecture.md allows', () => {
    const violations: string[] = [];
    for (const file of files) {
      const rel = path.relative(LIB, file).split(path.sep).join('/');
      const from = partOf(rel);
      if (from === 'cli') continue;
      for (const target of importsOf(file)) if (!allowed(from, target)) violations.push(`${rel} -> ${target}`);
    }
    expect(violations).toEqual([]);
  });

  it('keep vscode-jsonrpc behind one file of lib/server', () => {
    const users = files.filter((f) => /from 'vscode-jsonrpc|require\('vscode-jsonrpc/.test(fs.readFileSync(f, 'utf8')));
    expect(users.map((f) => path.relative(LIB, f))).toEqual([path.join('server', 'jsonrpc-connection.ts')]);
  });

  it('keep JSON-RPC codes out of the provider library', () => {
    const chutes = files.filter((f) => f.includes(`${path.sep}chutes${path.sep}`));
    for (const f of chutes)
      expect({ f, rpc: /RpcError|JsonRpcCode|RpcErrorCode|-32\d\d\d/.test(fs.readFileSync(f, 'utf8')) }).toEqual({ f, rpc: false });
  });
});
