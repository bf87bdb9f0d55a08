import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkConfigText, resolveConfigValue } from '../lib/config/load';
import { writeConfig } from './helpers/loopback';
import { BIN, cleanEnv, tempHome } from './helpers/rpc-process';

const env = { CHUTES_API_KEY: 'cpk_test_fake_from_process', HOME: '/nowhere' };

describe('config', () => {
  it('accepts the OpenClaw shape as is, ignoring unknown keys outside the chutes provider', () => {
    const { config, problems } = checkConfigText(
      `// an OpenClaw config
      {
        env: { CHUTES_API_KEY: "cpk_test_fake_from_file" },
        agents: { defaults: { model: { primary: "chutes/zai-org/GLM-4.7-Flash" }, workspace: "~/x" } },
        gateway: { port: 18789 },
        models: { mode: "merge", providers: {
          chutes: { baseUrl: "https://llm.chutes.ai/v1", api: "openai-completions", apiKey: "\${CHUTES_API_KEY}", teeOnly: true,
                    idpBaseUrl: "https://api.chutes.ai",
                    models: [{ id: "zai-org/GLM-4.7-Flash", name: "GLM", contextWindow: 131072, maxTokens: 8192, cost: { input: 0.1, output: 0.2 } }] },
          other: { anything: [1, 2, 3] },
        } },
      }`,
      env,
    );
    expect(problems).toEqual([]);
    expect(config.apiKey).toBe('cpk_test_fake_from_file');
    expect(config.teeOnly).toBe(true);
    expect(config.defaultModel).toBe('chutes/zai-org/GLM-4.7-Flash');
    expect(config.modelEntries).toHaveLength(1);
  });

  it('takes ${VAR} from the env block, then the process environment', () => {
    const a = resolveConfigValue({ models: { providers: { chutes: { apiKey: '${CHUTES_API_KEY}' } } } }, env);
    expect(a.config.apiKey).toBe('cpk_test_fake_from_process');
  });

  it('names an unset variable', () => {
    const { problems } = resolveConfigValue({ models: { providers: { chutes: { apiKey: '${NOT_SET_ANYWHERE}' } } } }, env);
    expect(problems).toEqual([
      { path: '/models/providers/chutes/apiKey', message: expect.stringContaining('NOT_SET_ANYWHERE is not set') },
    ]);
  });

  it('is strict inside models.providers.chutes', () => {
    const { problems } = resolveConfigValue({ models: { providers: { chutes: { baseURL: 'x', teeOnly: 'yes' } } } }, env);
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: '/models/providers/chutes/baseURL', message: 'is not a known property' },
        { path: '/models/providers/chutes/teeOnly', message: 'must be boolean' },
      ]),
    );
  });

  it('allows plain http only for loopback hosts', () => {
    const at = (baseUrl: string) => resolveConfigValue({ models: { providers: { chutes: { baseUrl } } } }, env).problems;
    expect(at('http://127.0.0.1:8080/v1')).toEqual([]);
    expect(at('http://localhost/v1')).toEqual([]);
    expect(at('http://[::1]:9/v1')).toEqual([]);
    expect(at('https://llm.chutes.ai/v1')).toEqual([]);
    expect(at('http://llm.chutes.ai/v1')[0]?.message).toMatch(/only for loopback/);
    expect(at('http://127.0.0.1.evil.com/v1')[0]?.message).toMatch(/only for loopback/);
    expect(at('ftp://x/v1')[0]?.message).toMatch(/unsupported URL scheme/);
    expect(at('not a url')[0]?.message).toMatch(/not a valid URL/);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('refuses the key %s anywhere', (key) => {
    const { problems } = checkConfigText(`{ agents: { "${key}": { polluted: true } } }`, env);
    expect(problems).toEqual([{ path: `/agents/${key}`, message: `the key "${key}" is not allowed` }]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reports JSON5 syntax errors with line and column', () => {
    const { problems } = checkConfigText('{\n  models: { ,\n}', env);
    expect(problems[0]?.message).toMatch(/not valid JSON5: .*line 2, column/);
  });

  it('registers configured secrets so they are redacted', () => {
    const { redact } = require('../lib/log/redact') as typeof import('../lib/log/redact');
    resolveConfigValue({ env: { MY_TOKEN: 'opaque-secret-value-123' } }, env);
    expect(redact('token opaque-secret-value-123 leaked')).toBe('token [redacted] leaked');
  });
});

describe('chutes-rpc config validate FILE', () => {
  it('prints file, path and message for each problem and exits 1', () => {
    const file = writeConfig(tempHome(), '{ models: { providers: { chutes: { nope: 1, teeOnly: 3 } } } }');
    let out = '';
    let status = 0;
    try {
      execFileSync(process.execPath, [BIN, 'config', 'validate', file], { env: cleanEnv(), encoding: 'utf8' });
    } catch (err) {
      const e = err as { stdout: string; status: number };
      out = e.stdout;
      status = e.status;
    }
    expect(status).toBe(1);
    expect(out).toContain(`${file}: /models/providers/chutes/nope: is not a known property`);
    expect(out).toContain(`${file}: /models/providers/chutes/teeOnly: must be boolean`);
  });

  it('says valid and exits 0 for a good file', () => {
    const file = writeConfig(tempHome(), '{ agents: { defaults: { model: "chutes/x" } } }');
    const out = execFileSync(process.execPath, [BIN, 'config', 'validate', file], { env: cleanEnv(), encoding: 'utf8' });
    expect(out.trim()).toBe(`${file}: valid`);
  });

  it('exits non-zero with help for an unknown action', () => {
    const r = require('node:child_process').spawnSync(process.execPath, [BIN, 'config', 'bogus'], { env: cleanEnv(), encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/validate/);
  });

  it('exits 1 for a missing file', () => {
    const file = path.join(tempHome(), 'absent.json5');
    expect(fs.existsSync(file)).toBe(false);
    expect(() => execFileSync(process.execPath, [BIN, 'config', 'validate', file], { env: cleanEnv(), stdio: 'pipe' })).toThrow();
  });
});
