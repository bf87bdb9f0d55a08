import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { cleanEnv, ROOT } from '../helpers/rpc-process';

// The README's install section, followed literally: its command blocks are read from README.md and
// run line by line with bash. Everything happens in a copy of the repository (npm pack rebuilds
// dist/, which the other tests are using) and a temporary global prefix; the npm registry is used
// only by `npm install -g` to fetch the dependencies. The single executable is built once here.

const run = promisify(execFile);
const BASH = fs.existsSync('/bin/bash') ? '/bin/bash' : '/usr/bin/bash';
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');

/** The shell lines of the README block after `<!-- install:NAME -->`, without their comments. */
function readmeBlock(name: string): string[] {
  const at = readme.indexOf(`<!-- install:${name} -->`);
  if (at < 0) throw new Error(`README.md has no <!-- install:${name} --> block`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at))![1]!;
  return block
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter(Boolean);
}

/**
 * A copy of the repository as a clone has it after `npm ci`: node_modules linked, dist/ built (this
 * run's, which the global setup made from the same sources, so npm pack does not build it again),
 * and the single executable of an earlier run if there is one (rebuilt only if its inputs changed).
 */
function copyOfRepository(): string {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-clone-'));
  const skip = new Set(['node_modules', '.git', 'coverage']);
  for (const entry of fs.readdirSync(ROOT)) {
    if (skip.has(entry) || entry.endsWith('.tgz')) continue;
    fs.cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
  }
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(copy, 'node_modules'));
  return copy;
}

/** Runs each line in bash, stopping at the first that fails; returns what each printed. */
async function follow(lines: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Array<{ line: string; stdout: string; ms: number }>> {
  const done: Array<{ line: string; stdout: string; ms: number }> = [];
  for (const line of lines) {
    const started = Date.now();
    try {
      const { stdout } = await run(BASH, ['-euo', 'pipefail', '-c', line], { cwd, env, timeout: 120_000, maxBuffer: 1 << 24 });
      done.push({ line, stdout, ms: Date.now() - started });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`README line failed: ${line}\n${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
    }
  }
  return done;
}

describe('installing as the README says', () => {
  let clone: string;
  let prefix: string;
  const timings: string[] = [];

  beforeAll(() => {
    clone = copyOfRepository();
    prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-prefix-'));
  });

  afterAll(() => {
    if (timings.length) process.stderr.write(`install.spec timings: ${timings.join(', ')}\n`);
  });

  it('with npm: pack, install -g into a prefix, then --help, demo and conformance work from PATH', async () => {
    const lines = readmeBlock('tarball');
    expect(lines.slice(0, 3)).toEqual(['npm pack', 'npm install -g ./chutes-rpc-0.1.0.tgz', 'chutes-rpc --help']);
    const env = cleanEnv({ npm_config_prefix: prefix, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}`, NO_COLOR: '1' });
    const out = await follow(lines, clone, env);
    for (const o of out) timings.push(`${o.line.split(' ').slice(0, 3).join(' ')} ${(o.ms / 1000).toFixed(1)} s`);
    const by = (prefixText: string) => out.find((o) => o.line.startsWith(prefixText))!.stdout;
    expect(fs.realpathSync(path.join(prefix, 'bin', 'chutes-rpc'))).toBe(
      path.join(fs.realpathSync(prefix), 'lib', 'node_modules', 'chutes-rpc', 'bin', 'chutes-rpc'),
    );
    expect(by('chutes-rpc --help')).toContain('chutes-rpc <command> [options]');
    expect(by('chutes-rpc demo')).toContain('the adapter exited with code 0');
    expect(by('chutes-rpc demo')).toContain(path.join('lib', 'node_modules', 'chutes-rpc', 'fixtures', 'cassettes', 'demo.json'));
    expect(by('chutes-rpc conformance')).toMatch(/^[1-9]\d* passed, 0 failed$/m);
    // The README's other way, in a clone without a global install: npx runs the clone's own command.
    expect(readme).toContain('then `npx chutes-rpc ...` runs the clone');
    const npx = await run('npx', ['--no-install', 'chutes-rpc', '--version'], { cwd: clone, env: cleanEnv() });
    expect(npx.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  }, 240_000);

  it('ships the docs, the examples, a LICENSE and a repository field, and links to nothing it does not ship', () => {
    const unpacked = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-unpacked-'));
    require('node:child_process').execFileSync('tar', ['-xzf', path.join(clone, 'chutes-rpc-0.1.0.tgz'), '-C', unpacked]);
    const pkgDir = path.join(unpacked, 'package');
    const files = listFiles(pkgDir);
    for (const needed of [
      'LICENSE',
      'README.md',
      'docs/protocol.md',
      'docs/cli.md',
      'examples/python/chutes_host.py',
      'examples/shell/chat.sh',
      'bin/chutes-rpc',
      'dist/cli.js',
    ]) {
      expect({ needed, shipped: files.includes(needed) }).toEqual({ needed, shipped: true });
    }
    expect(files.filter((f) => f.startsWith('dist/sea/') || f === 'dist/chutes-rpc')).toEqual([]);
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    expect(pkg.license).toBe('MIT');
    expect(fs.readFileSync(path.join(pkgDir, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    expect(pkg.repository.url).toMatch(/^git\+https:\/\//);

    const broken: string[] = [];
    for (const f of files) {
      const abs = path.join(pkgDir, f);
      if (f.endsWith('.js')) {
        const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(fs.readFileSync(abs, 'utf8'));
        if (m && !fs.existsSync(path.resolve(path.dirname(abs), m[1]!))) broken.push(`${f} -> ${m[1]}`);
      }
      if (f.endsWith('.map')) {
        for (const s of JSON.parse(fs.readFileSync(abs, 'utf8')).sources as string[]) {
          if (!fs.existsSync(path.resolve(path.dirname(abs), s))) broken.push(`${f} -> ${s}`);
        }
      }
      if (f.endsWith('.md')) {
        for (const [, target] of fs.readFileSync(abs, 'utf8').matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
          if (/^[a-z]+:/i.test(target!)) continue;
          if (!fs.existsSync(path.resolve(path.dirname(abs), target!))) broken.push(`${f} -> ${target}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('without Node: the single executable runs --help and the conformance kit with no node on PATH', async () => {
    const lines = readmeBlock('binary');
    expect(lines[0]).toBe('npm run build:binary');
    const [build, ...use] = lines;
    const started = Date.now();
    await follow([build!], clone, cleanEnv());
    timings.push(`build:binary ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const binary = path.join(clone, 'dist', 'chutes-rpc');
    timings.push(`binary ${(fs.statSync(binary).size / 1e6).toFixed(1)} MB`);
    // Kept for the next run (dist/ is not in git): build-binary.js reuses it while its inputs are the same.
    for (const f of ['chutes-rpc', 'chutes-rpc.stamp'])
      fs.copyFileSync(path.join(clone, 'dist', f), path.join(ROOT, 'dist', `${f}.partial-copy`));
    for (const f of ['chutes-rpc', 'chutes-rpc.stamp'])
      fs.renameSync(path.join(ROOT, 'dist', `${f}.partial-copy`), path.join(ROOT, 'dist', f));
    // A PATH with a shell and the basic tools but no node.
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-rpc-no-node-'));
    for (const tool of ['sh', 'bash', 'cat', 'env']) {
      const found = ['/bin', '/usr/bin'].map((d) => path.join(d, tool)).find((p) => fs.existsSync(p));
      if (found) fs.symlinkSync(found, path.join(bin, tool));
    }
    const env = cleanEnv({ PATH: bin, NO_COLOR: '1' });
    await expect(run(BASH, ['-c', 'command -v node'], { env })).rejects.toMatchObject({ code: 1 });
    const out = await follow(use, clone, env);
    expect(out[0]!.stdout).toContain('chutes-rpc <command> [options]');
    expect(out.at(-1)!.stdout).toMatch(/^[1-9]\d* passed, 0 failed$/m);
  }, 240_000);
});

function listFiles(dir: string, base = dir): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name), base) : [path.relative(base, path.join(dir, e.name))]));
}
