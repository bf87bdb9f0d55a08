import * as fs from 'node:fs';
import * as path from 'node:path';

/** The name of the SEA asset that lists the package files embedded in the single executable. */
export const SEA_MANIFEST_ASSET = 'package-files.json';

interface SeaModule {
  isSea(): boolean;
  getAsset(key: string, encoding: 'utf8'): string;
  getAsset(key: string): ArrayBuffer;
}

const SEA: SeaModule | undefined = (() => {
  try {
    const m = require('node:sea') as SeaModule;
    return m.isSea() ? m : undefined;
  } catch {
    return undefined;
  }
})();

function sea(): SeaModule | undefined {
  return SEA;
}

/** True inside the single executable (`npm run build:binary`), where there is no package on disk. */
export function isSingleExecutable(): boolean {
  return sea() !== undefined;
}

let root: string | undefined;

/**
 * The directory holding the package's own files (fixtures/, bin/). In the single executable those
 * files are SEA assets, written once per version and content to a directory of their own under the
 * temporary directory (reused by every later run, so nothing piles up).
 */
export function packageRoot(): string {
  if (root) return root;
  const s = sea();
  root = s ? extractAssets(s) : findPackageDir(__dirname);
  return root;
}

/** A file of the package, such as `fixtures/cassettes/demo.json`. */
export function packageFile(relative: string): string {
  return path.join(packageRoot(), ...relative.split('/'));
}

/** How to start this chutes-rpc again as a child process: the executable itself, or Node with bin/chutes-rpc. */
export function selfCommand(): { command: string; args: string[] } {
  if (isSingleExecutable()) return { command: process.execPath, args: [] };
  return { command: process.execPath, args: [path.join(packageRoot(), 'bin', 'chutes-rpc')] };
}

function findPackageDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'chutes-rpc') return dir;
    } catch {
      // not here; look further up
    }
    if (path.dirname(dir) === dir) throw new Error(`cannot find the chutes-rpc package above ${from}`);
  }
}

function extractAssets(s: SeaModule): string {
  const manifest = JSON.parse(s.getAsset(SEA_MANIFEST_ASSET, 'utf8')) as { id: string; files: string[] };
  const dir = path.join((require('node:os') as typeof import('node:os')).tmpdir(), `chutes-rpc-files-${manifest.id}`);
  if (fs.existsSync(path.join(dir, '.complete'))) return dir;
  // Written beside, then renamed into place: two first runs at once do not see half a directory.
  const staging = fs.mkdtempSync(`${dir}.partial-`);
  for (const file of manifest.files) {
    const target = path.join(staging, ...file.split('/'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, Buffer.from(s.getAsset(file)));
  }
  fs.writeFileSync(path.join(staging, '.complete'), '');
  try {
    fs.renameSync(staging, dir);
  } catch {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}
