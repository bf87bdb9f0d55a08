import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chatHome, startGreetingUpstream } from '../helpers/chat-upstream';
import { CACHED_SCRIPTS, preloadRecorder } from '../helpers/preload-recorder';
import { BIN, cleanEnv, tempHome } from '../helpers/rpc-process';

// Preloaded into the CLI: what it compiled with a code cache, how many Intl.Segmenters it made,
// and the files it loaded as modules, written at exit.
const RECORDER = `${CACHED_SCRIPTS}
let segmenters = 0;
const Segmenter = Intl.Segmenter;
Intl.Segmenter = class extends Segmenter {
  constructor(...args) {
    super(...args);
    segmenters++;
  }
};
process.on('exit', () =>
  require('node:fs').writeFileSync(
    process.env.RECORDER_REPORT,
    JSON.stringify({ scripts: cachedScripts, segmenters, files: Object.keys(require.cache) }),
  ),
);
`;

interface Report {
  scripts: Array<{ file: string; rejected: boolean }>;
  segmenters: number;
  files: string[];
  stdout: string;
}

/** Runs `chutes-rpc args` (not serve) with the recorder preloaded; what it recorded, and its output. */
async function runCli(args: string[], home = tempHome()): Promise<Report> {
  const { nodeArgs, env, report } = preloadRecorder(RECORDER);
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], {
    env: cleanEnv({ CHUTES_RPC_HOME: home, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.resume();
  await new Promise((resolve) => child.once('close', resolve));
  return { ...(JSON.parse(fs.readFileSync(report, 'utf8')) as Omit<Report, 'stdout'>), stdout };
}

/** The files a run loaded as modules from the compiled CLI (dist/) or from node_modules. */
const moduleFilesOutsideBin = (files: string[]) =>
  files.filter((f) => f.includes(`${path.sep}dist${path.sep}`) || f.includes(`${path.sep}node_modules${path.sep}`));

describe('a command other than serve (scripts/bundle-cli.js)', () => {
  it('runs from the CLI bundle and its code cache, and loads no module file of dist/ or node_modules', async () => {
    const { scripts, files } = await runCli(['status']);
    expect(scripts).toEqual([
      { file: 'serve.bundle.js', rejected: false },
      { file: 'cli.bundle.js', rejected: false },
    ]);
    expect(moduleFilesOutsideBin(files)).toEqual([]);
  });

  // cliui and string-width, which yargs loads at start, each make an Intl.Segmenter (~25 ms here):
  // loaded when a text is laid out, not for commands that print none.
  it("lays out no text with yargs' layout unless it prints help", async () => {
    expect((await runCli(['status'])).segmenters).toBe(0);
    const help = await runCli(['chat', '--help']);
    expect(help.stdout).toContain('--model');
    expect(help.segmenters).toBeGreaterThan(0);
  });

  it('chat loads the Agent bundle with its cache, and answers', async () => {
    const up = await startGreetingUpstream('acme/Quick');
    try {
      const { scripts, files, stdout } = await runCli(['chat', '--model', 'chutes/acme/Quick', 'hello'], chatHome(up));
      expect(stdout).toContain('Hi there');
      expect(scripts).toEqual([
        { file: 'serve.bundle.js', rejected: false },
        { file: 'cli.bundle.js', rejected: false },
        { file: 'undici-agent.bundle.js', rejected: false },
      ]);
      expect(moduleFilesOutsideBin(files)).toEqual([]);
    } finally {
      await up.close();
    }
  });
});
