import fc from 'fast-check';
import { checkConfigText, parseConfigText, resolveConfigValue, validationProblems } from '../../lib/config/load';

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

  it('reads agents.defaults.model.fallbacks (none by default, nor for a plain model string)', () => {
    const withList = resolveConfigValue(
      {
        env: { SPARE: 'acme/Spare' },
        agents: { defaults: { model: { primary: 'acme/P', fallbacks: ['chutes/acme/F', '${SPARE}', ' '] } } },
      },
      env,
    );
    expect(withList.problems).toEqual([]);
    expect(withList.config.fallbacks).toEqual(['chutes/acme/F', 'acme/Spare']);
    expect(resolveConfigValue({ agents: { defaults: { model: 'acme/P' } } }, env).config.fallbacks).toEqual([]);
    expect(resolveConfigValue({}, env).config.fallbacks).toEqual([]);
  });

  it('takes ${VAR} from the env block, then the process environment', () => {
    const a = resolveConfigValue({ models: { providers: { chutes: { apiKey: '${CHUTES_API_KEY}' } } } }, env);
    expect(a.config.apiKey).toBe('cpk_test_fake_from_process');
  });

  it('leaves an optional field whose variable is unset unset, with a warning naming the variable', () => {
    const { config, problems, warnings } = resolveConfigValue(
      { models: { providers: { chutes: { apiKey: '${NOT_SET_ANYWHERE}', headers: { 'X-A': 'a ${ALSO_NOT_SET}', 'X-B': 'b' } } } } },
      env,
    );
    expect(problems).toEqual([]);
    expect(config.apiKey).toBeUndefined();
    expect(config.headers).toEqual({ 'X-B': 'b' });
    expect(warnings).toEqual([
      { path: '/models/providers/chutes/apiKey', message: expect.stringContaining('NOT_SET_ANYWHERE is not set') },
      { path: '/models/providers/chutes/headers/X-A', message: expect.stringContaining('ALSO_NOT_SET is not set') },
    ]);
  });

  it('names an unset variable where a value is required (a model entry id) as a problem', () => {
    const { problems } = resolveConfigValue({ models: { providers: { chutes: { models: [{ id: '${NOT_SET_ANYWHERE}' }] } } } }, env);
    expect(problems).toEqual([
      { path: '/models/providers/chutes/models/0/id', message: expect.stringContaining('NOT_SET_ANYWHERE is not set') },
    ]);
  });

  it('reports ${VAR} and http: problems together with schema problems', () => {
    const { problems } = resolveConfigValue(
      { models: { providers: { chutes: { baseUrl: 'http://example.com', teeOnly: 'yes', models: [{ id: '${NOT_SET_ANYWHERE}' }] } } } },
      env,
    );
    expect(problems.map((p) => p.path).sort()).toEqual([
      '/models/providers/chutes/baseUrl',
      '/models/providers/chutes/models/0/id',
      '/models/providers/chutes/teeOnly',
    ]);
  });

  it('keeps the warnings of unset optional ${VAR}s beside schema problems, so that a check reports all at once', () => {
    const state = resolveConfigValue({ models: { providers: { chutes: { apiKey: '${NOT_SET_ANYWHERE}', teeOnly: 'yes' } } } }, env);
    expect(validationProblems(state).map((p) => p.path)).toEqual(['/models/providers/chutes/teeOnly', '/models/providers/chutes/apiKey']);
  });

  it('reports one problem for one mistake where the value may be of several types (model: 42)', () => {
    const { problems } = resolveConfigValue({ agents: { defaults: { model: 42 } } }, env);
    expect(problems).toEqual([{ path: '/agents/defaults/model', message: 'must be string or object' }]);
    // A value of a right type with a wrong part still gets the specific problem.
    const nested = resolveConfigValue({ agents: { defaults: { model: { primary: 7 } } } }, env).problems;
    expect(nested).toEqual(expect.arrayContaining([{ path: '/agents/defaults/model/primary', message: 'must be string' }]));
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
    const { redact } = require('../../lib/log/redact') as typeof import('../../lib/log/redact');
    resolveConfigValue({ env: { MY_TOKEN: 'opaque-secret-value-123' } }, env);
    expect(redact('token opaque-secret-value-123 leaked')).toBe('token [redacted] leaked');
  });
});

describe('config: tee settings', () => {
  it('has strict defaults, and reads the tee block (measurementsFile relative to the config file)', () => {
    const none = resolveConfigValue({}, env);
    expect(none.config.apiBaseUrl).toBe('https://api.chutes.ai');
    expect(none.config.tee).toEqual({
      attestation: 'off',
      pccsUrl: 'https://api.trustedservices.intel.com',
      tcbStatuses: ['UpToDate'],
      cacheTtlMs: 300000,
      measurementsTtlMs: 3600000,
      discoveryRounds: 2,
    });
    const tee = {
      attestation: 'require',
      measurementsFile: 'pinned.json',
      tcbStatuses: ['UpToDate', 'SWHardeningNeeded'],
      cacheTtlMs: 1000,
    };
    const set = resolveConfigValue({ models: { providers: { chutes: { tee } } } }, env, '/etc/chutes/config.json5');
    expect(set.problems).toEqual([]);
    expect(set.config.tee).toMatchObject({ ...tee, measurementsFile: '/etc/chutes/pinned.json' });
  });

  it('refuses plain http to a remote PCCS, an unknown policy and an unknown TCB status', () => {
    const http = resolveConfigValue({ models: { providers: { chutes: { tee: { pccsUrl: 'http://pccs.example.com' } } } } }, env);
    expect(http.problems).toEqual([{ path: '/models/providers/chutes/tee/pccsUrl', message: expect.stringMatching(/loopback/) }]);
    const bad = resolveConfigValue({ models: { providers: { chutes: { tee: { attestation: 'maybe', tcbStatuses: ['Revoked'] } } } } }, env);
    expect(bad.problems.map((p) => p.path).sort()).toEqual([
      '/models/providers/chutes/tee/attestation',
      '/models/providers/chutes/tee/tcbStatuses/0',
    ]);
  });
});

describe('config: rateLimit', () => {
  const withRate = (rateLimit: unknown) => resolveConfigValue({ models: { providers: { chutes: { rateLimit } } } }, {});
  it('defaults to 60 a minute, which the server may replace; a configured budget is marked as a ceiling; 0 and "inf" are off', () => {
    expect(resolveConfigValue({}, {}).config.rateLimit).toEqual({ requestsPerMinute: 60, configured: false });
    expect(withRate({}).config.rateLimit).toEqual({ requestsPerMinute: 60, configured: false });
    expect(withRate({ requestsPerMinute: 30 }).config.rateLimit).toEqual({ requestsPerMinute: 30, configured: true });
    expect(withRate({ requestsPerMinute: 0 }).config.rateLimit).toEqual({ requestsPerMinute: 0, configured: true });
    expect(withRate({ requestsPerMinute: 'inf' }).config.rateLimit).toEqual({ requestsPerMinute: 0, configured: true });
  });
  it('refuses anything else', () => {
    for (const bad of [{ requestsPerMinute: -1 }, { requestsPerMinute: 'fast' }, { requestsPerMinute: 1.5 }, { perMinute: 5 }]) {
      expect(withRate(bad).problems.map((p) => p.path)).toContainEqual(expect.stringMatching(/^\/models\/providers\/chutes\/rateLimit/));
    }
  });
});

describe('config text', () => {
  // Plain JSON is read by JSON.parse, the rest by json5: both must mean the same for any JSON.
  it('reads any JSON text as JSON5 reads it, __proto__ keys as own keys', () => {
    const JSON5 = require('json5') as typeof import('json5');
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify(value, null, pretty ? 2 : undefined);
        const read = parseConfigText(text);
        expect(read.problems).toEqual([]);
        expect(read.value).toStrictEqual(JSON5.parse(text));
      }),
    );
    const proto = parseConfigText('{"__proto__": {"polluted": true}}').value as Record<string, unknown>;
    expect(Object.getPrototypeOf(proto)).toBe(Object.prototype);
    expect(Object.keys(proto)).toEqual(['__proto__']);
    expect(proto).toStrictEqual(JSON5.parse('{"__proto__": {"polluted": true}}'));
  });

  it('reads JSON5 that is not JSON (comments, a BOM, trailing commas), and says where text is wrong', () => {
    expect(parseConfigText('\uFEFF// c\n{ a: 1, b: [2,], }').value).toEqual({ a: 1, b: [2] });
    expect(parseConfigText('{\n  "a": 1,\n  "b": }').problems).toEqual([
      { path: '', message: expect.stringMatching(/^not valid JSON5: .*\(line 3, column 8\)$/) },
    ]);
  });
});
