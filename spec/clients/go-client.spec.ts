import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanEnv, ROOT } from '../helpers/rpc-process';
import { ensureGo } from './go-toolchain';
import { runProgram } from './run-program';

// The Go client's own suite (clients/go, go test) against this repository's adapter on recorded
// cassettes, over NDJSON and LSP, including a host killed with SIGKILL. CI has no Go: ensureGo()
// installs Debian's golang-go, or says why it cannot and the tests are skipped with that reason.
const MODULE = path.join(ROOT, 'clients', 'go');
const toolchain = ensureGo();
const skipped = toolchain.go === undefined ? ` (skipped: ${toolchain.reason})` : '';
const goIt = toolchain.go === undefined ? it.skip : it;

// Nothing may be fetched: the client has no dependencies, and the module proxy is not for this.
const goEnv = (): NodeJS.ProcessEnv =>
  cleanEnv({
    GOPROXY: 'off',
    GOFLAGS: '-mod=mod',
    GOTOOLCHAIN: 'local',
    GOCACHE: process.env.GOCACHE ?? path.join(os.homedir(), '.cache', 'go-build'),
  });

describe(`Go client (clients/go)${skipped}`, () => {
  goIt('is gofmt-clean, generated files included', async () => {
    const run = await runProgram('gofmt', ['-l', '.'], { cwd: MODULE, env: goEnv() });
    expect({ code: run.code, unformatted: run.output.trim() }).toEqual({ code: 0, unformatted: '' });
  });

  goIt(
    'go test ./...: the host scenario over NDJSON and LSP, and no adapter left when the host is killed',
    async () => {
      const run = await runProgram('go', ['test', '-count=1', '-v', './...'], { cwd: MODULE, env: goEnv(), timeoutMs: 280_000 });
      expect({ code: run.code, output: run.code === 0 ? '' : run.output }).toEqual({ code: 0, output: '' });
      for (const name of [
        'TestScenario/ndjson/demo_session',
        'TestScenario/lsp/demo_session',
        'TestScenario/ndjson/two_concurrent_streams',
        'TestScenario/lsp/two_concurrent_streams',
        'TestScenario/ndjson/an_error_with_its_resolution',
        'TestScenario/lsp/an_error_with_its_resolution',
        'TestKilledHostLeavesNoAdapter',
        'TestCloseCancelsRunningStreamsAndStopsTheAdapter',
        'TestAdapterCommandOrder',
        'TestFrameReaderHasNoSizeLimitAndSplitsOnNewlineOnly',
      ])
        expect(run.output).toContain(`--- PASS: ${name} `);
    },
    300_000,
  );

  it('adds no third-party dependency (go.mod requires nothing, there is no go.sum)', () => {
    expect(fs.readFileSync(path.join(MODULE, 'go.mod'), 'utf8')).not.toMatch(/^\s*require\b/m);
    expect(fs.existsSync(path.join(MODULE, 'go.sum'))).toBe(false);
  });
});
