import { spawnSync } from 'node:child_process';

export type GoToolchain = { go: string; version: string } | { go: undefined; reason: string };

function goVersion(): string | undefined {
  const run = spawnSync('go', ['version'], { encoding: 'utf8' });
  return run.status === 0 ? run.stdout.trim() : undefined;
}

/**
 * The Go toolchain for the Go client's suite. CI has Node and npm but no Go: when `go` is not on
 * PATH, this installs Debian's golang-go with apt-get (as root, the way CI runs). Where that cannot
 * be done, it says why, and the suite skips with that reason.
 */
export function ensureGo(): GoToolchain {
  const have = goVersion();
  if (have) return { go: 'go', version: have };
  if (process.platform !== 'linux') return { go: undefined, reason: `no go on PATH, and ${process.platform} has no apt-get to install it` };
  if (spawnSync('apt-get', ['--version']).status !== 0) return { go: undefined, reason: 'no go on PATH and no apt-get to install it' };
  if (process.getuid?.() !== 0) return { go: undefined, reason: 'no go on PATH, and installing golang-go with apt-get needs root' };
  // Another process may hold the dpkg lock (a parallel install): wait for it instead of failing.
  const apt = (...args: string[]) =>
    spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], {
      encoding: 'utf8',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
    });
  process.stderr.write('go-toolchain: no go on PATH; installing golang-go with apt-get ...\n');
  const update = apt('update', '-qq');
  const install = update.status === 0 ? apt('install', '-y', '-qq', '--no-install-recommends', 'golang-go') : update;
  const version = goVersion();
  if (version) return { go: 'go', version };
  return {
    go: undefined,
    reason: `no go on PATH, and apt-get could not install golang-go: ${(install.stderr || install.stdout || String(install.error)).trim().slice(-500)}`,
  };
}
