import { ChutesContext, type ChutesSettings } from '../../lib/chutes/context';
import { defaultConfig } from '../../lib/config/load';
import { Logger } from '../../lib/log/logger';
import { Pacer } from '../../lib/chutes/pacing/pacer';
import { pacingOff } from '../../lib/chutes/pacing/request-pacer';
import { tempHome } from '../helpers/rpc-process';

function context(baseUrl: string, settings: Partial<ChutesSettings> = {}): ChutesContext {
  const config = { ...defaultConfig({}), baseUrl };
  return new ChutesContext({ home: tempHome(), ...settings }, { config, problems: [] }, new Logger(() => undefined));
}

// The module object lib/chutes/context.ts requires (an import's namespace has no property to spy on).
const tls = require('node:tls') as typeof import('node:tls');

describe('ChutesContext.prepareUpstream', () => {
  let made: jest.SpiedFunction<typeof tls.createSecureContext>;
  beforeEach(() => (made = jest.spyOn(tls, 'createSecureContext')));
  afterEach(() => made.mockRestore());

  it('builds a secure context (node:tls and its root certificates) for an upstream reached over https', () => {
    context('https://llm.chutes.ai/v1').prepareUpstream();
    expect(made).toHaveBeenCalledTimes(1);
  });

  it('builds none for a plain http upstream, nor when every call is replayed from a cassette', () => {
    context('http://127.0.0.1:9/v1').prepareUpstream();
    context('https://llm.chutes.ai/v1', { replay: 'fixtures/cassettes/demo.json' }).prepareUpstream();
    expect(made).not.toHaveBeenCalled();
  });
});

describe('ChutesContext.pacer', () => {
  const withRpm = (requestsPerMinute: number, settings: Partial<ChutesSettings> = {}) => {
    const config = { ...defaultConfig({}), baseUrl: 'http://127.0.0.1:9/v1', rateLimit: { requestsPerMinute, configured: true } };
    return new ChutesContext({ home: tempHome(), ...settings }, { config, problems: [] }, new Logger(() => undefined));
  };

  it('is the pacing-off stand-in, not the Pacer and its state file, when the config turns pacing off or calls are replayed', async () => {
    const off = withRpm(0);
    expect(off.pacer).toBe(pacingOff);
    expect(withRpm(30, { replay: 'fixtures/cassettes/demo.json' }).pacer).toBe(pacingOff);
    const signal = new AbortController().signal;
    await expect(
      off.pacer.pace({ credential: { method: 'apiKey', token: 'cpk_test.placeholder', source: 'env' }, chute: 'm', signal }),
    ).resolves.toBeUndefined();
  });

  it('is a Pacer, enabled, when the config sets a budget', () => {
    const pacer = withRpm(30).pacer;
    expect(pacer).toBeInstanceOf(Pacer);
    expect((pacer as Pacer).enabled).toBe(true);
  });
});
