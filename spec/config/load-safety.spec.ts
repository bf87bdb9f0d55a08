import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkConfigFile, loadConfig, resolveConfigValue } from '../../lib/config/load';
import { tempHome } from '../helpers/rpc-process';

const provider = (p: object) => ({ models: { providers: { chutes: p } } });

describe('config values that could leak or overflow', () => {
  it('refuses a user name or password in baseUrl and idpBaseUrl, pointing at headers, without quoting it', () => {
    for (const key of ['baseUrl', 'idpBaseUrl']) {
      const { problems, config } = resolveConfigValue(provider({ [key]: 'https://me:hunter2@llm.example/v1' }));
      expect(problems).toHaveLength(1);
      expect(problems[0]!.path).toBe(`/models/providers/chutes/${key}`);
      expect(problems[0]!.message).toMatch(/headers/);
      expect(JSON.stringify({ problems, config })).not.toContain('hunter2');
    }
  });

  it.each([
    ['timeoutMs', 3e9],
    ['timeoutMs', 1e20],
    ['discoveryTimeoutMs', 3e9],
    ['discoveryTimeoutMs', 1e20],
  ])('refuses %s = %d (a timer would overflow)', (key, value) => {
    const { problems } = resolveConfigValue(provider({ [key]: value }));
    expect(problems.map((p) => p.path)).toContain(`/models/providers/chutes/${key}`);
  });

  it.each([
    ['modelsCacheTtlMs', 1e20],
    ['maxMessageBytes', 600 * 1024 * 1024],
    ['maxAnswerChars', 1e12],
  ])('refuses chutesRpc.%s = %d', (key, value) => {
    expect(resolveConfigValue({ chutesRpc: { [key]: value } }).problems.map((p) => p.path)).toContain(`/chutesRpc/${key}`);
  });

  it('reads maxAnswerChars, with a documented default', () => {
    expect(resolveConfigValue({}).config.maxAnswerChars).toBe(64 * 1024 * 1024);
    expect(resolveConfigValue({ chutesRpc: { maxAnswerChars: 4096 } }).config.maxAnswerChars).toBe(4096);
  });
});

describe('config files', () => {
  it('refuses special and oversized files with a problem, never hanging', () => {
    expect(checkConfigFile('/dev/zero').problems[0]!.message).toMatch(/character device/);
    const big = path.join(tempHome(), 'big.json5');
    fs.writeFileSync(big, `{a:"${'x'.repeat(5 * 1024 * 1024)}"}`);
    expect(checkConfigFile(big).problems[0]!.message).toMatch(/larger than 4 MiB/);
  });

  it('runs only with a config that this user owns and nobody else can write, in a directory nobody else can write', () => {
    const home = tempHome();
    const file = path.join(home, 'config.json5');
    fs.writeFileSync(file, '{}');
    expect(loadConfig(file).problems).toEqual([]);
    fs.chmodSync(file, 0o666);
    expect(loadConfig(file).problems[0]!.message).toMatch(/writable by every user.*chmod go-w/);
    // config.validate and `config validate FILE` only check it: no trust needed to read.
    expect(checkConfigFile(file).problems).toEqual([]);
    fs.chmodSync(file, 0o644);
    fs.chmodSync(home, 0o777);
    expect(loadConfig(file).problems[0]!.message).toMatch(/is in .*writable by every user/);
    fs.chmodSync(home, 0o700);
  });
});
