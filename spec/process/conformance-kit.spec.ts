import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadScenarios, runConformance, runOne } from '../../lib/conformance/runner';
import { match } from '../../lib/conformance/match';
import { ROOT } from '../helpers/rpc-process';

import { errorCodes } from '../../lib/generated/errors';

// Every code of schemas/errors.json but -32603 (internal error), which no well-behaved adapter can be made to answer on purpose.
const PROTOCOL_CODES = Object.entries(errorCodes)
  .filter(([name]) => name !== 'internal_error')
  .map(([, code]) => code);

describe('conformance kit', () => {
  const scenarios = loadScenarios();

  it('has at least 30 scenarios, each valid against its schema', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(30);
  });

  it('covers every method, every notification and every error code of the protocol', () => {
    const text = JSON.stringify(scenarios.map((s) => s.scenario.steps));
    const doc = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'openrpc.json'), 'utf8'));
    for (const m of doc.methods)
      expect({ method: m.name, sent: text.includes(`"method":"${m.name}"`) }).toEqual({ method: m.name, sent: true });
    for (const n of doc['x-notifications']) {
      expect({
        notification: n.name,
        expected: text.includes(`"method":"${n.name}"`) || (n.name === 'chat.delta' && text.includes('"expectStream"')),
      }).toEqual({ notification: n.name, expected: true });
    }
    for (const code of PROTOCOL_CODES) expect({ code, expected: text.includes(`"code":${code}`) }).toEqual({ code, expected: true });
    const framings = new Set(scenarios.flatMap((s) => s.scenario.framings ?? ['ndjson', 'lsp']));
    expect([...framings].sort()).toEqual(['lsp', 'ndjson']);
  });

  // One test per scenario, each with its own time budget. A scenario that does not pin its framings
  // runs in one of the two, alternating: every scenario and both framings are exercised while the
  // suite starts half as many adapters (`chutes-rpc conformance` runs each in both).
  describe('passes against this adapter, in both framings', () => {
    const runs = scenarios.map((s, i) => ({ ...s, framings: s.scenario.framings ?? [i % 2 ? 'lsp' : 'ndjson'] }));

    it('runs every scenario, at least 25 in each framing', () => {
      const count = (f: string) => runs.filter((r) => r.framings.includes(f as 'lsp')).length;
      expect(runs.length).toBe(scenarios.length);
      expect(count('ndjson')).toBeGreaterThanOrEqual(25);
      expect(count('lsp')).toBeGreaterThanOrEqual(25);
    });

    it.each(runs.map((r) => [r.scenario.name, r] as const))(
      '%s',
      async (_name, { file, scenario, framings }) => {
        const failures: string[] = [];
        for (const framing of framings) {
          const r = await runOne(file, scenario, framing);
          if (!r.ok) failures.push(`${r.name} [${r.framing}]: ${r.reason}`);
        }
        expect(failures).toEqual([]);
      },
      60_000,
    );
  });

  it('fails a scenario when the adapter answers differently (the kit can fail)', async () => {
    const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'conformance-neg-'));
    fs.writeFileSync(
      path.join(dir, 'wrong.json'),
      JSON.stringify({
        name: 'wrong',
        description: 'expects a result the adapter does not give',
        framings: ['ndjson'],
        steps: [
          { send: { jsonrpc: '2.0', id: 1, method: 'config.validate', params: {} } },
          { expect: { id: 1, result: { valid: false } }, timeoutMs: 2000 },
        ],
      }),
    );
    const { failed, results } = await runConformance({ dir });
    expect(failed).toBe(1);
    expect(results[0]!.reason).toMatch(/\/result\/valid: expected false, got true/);
  });
});

describe('matcher language', () => {
  it('matches subsets, types, regexes, captures and vars', () => {
    const vars: Record<string, unknown> = {};
    expect(match({ a: 1, b: { $type: 'string' } }, { a: 1, b: 'x', c: 3 }, vars)).toBeUndefined();
    expect(match({ url: { $regex: 'state=([a-z]+)', $capture: 'state' } }, { url: 'https://x/?state=abc&y=1' }, vars)).toBeUndefined();
    expect(vars.state).toBe('abc');
    expect(match({ s: { $var: 'state' } }, { s: 'abc' }, vars)).toBeUndefined();
    expect(match({ s: { $var: 'state' } }, { s: 'abd' }, vars)?.path).toBe('/s');
    expect(match({ gone: { $absent: true } }, { gone: 1 }, vars)?.message).toMatch(/expected no value/);
    expect(match([1, 2], [1, 2, 3], vars)?.message).toMatch(/expected 2 items/);
    expect(match({ xs: { $contains: [{ id: 2 }] } }, { xs: [{ id: 1 }, { id: 2, more: true }] }, vars)).toBeUndefined();
  });
});
