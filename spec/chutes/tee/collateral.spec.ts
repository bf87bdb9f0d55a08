import { ChutesContext } from '../../../lib/chutes/context';
import { PccsCollateral } from '../../../lib/chutes/tee/collateral';
import { intelDcap } from '../../../lib/chutes/tee/dcap';
import { resolveConfigValue } from '../../../lib/config/load';
import { Logger } from '../../../lib/log/logger';
import { type Loopback, startLoopback } from '../../helpers/loopback';
import { tempHome } from '../../helpers/rpc-process';
import { describeWithSamples, sample, SAMPLE_TIME, sampleJson, teeApiHandler } from '../../helpers/tee';

describeWithSamples('DCAP collateral from a loopback PCCS', () => {
  let lb: Loopback;
  let source: PccsCollateral['source'];
  let state: ReturnType<typeof resolveConfigValue>;
  beforeAll(async () => {
    lb = await startLoopback(
      teeApiHandler({ chuteId: 'x', model: 'x', instances: [], pccs: sampleJson('tdx_quote_collateral.json') as Record<string, string> }),
    );
    state = resolveConfigValue({ models: { providers: { chutes: { tee: { pccsUrl: `${lb.url}/sgx/certification/v4/` } } } } }, {});
    expect(state.problems).toEqual([]);
  });
  beforeEach(() => {
    source = new PccsCollateral(new ChutesContext({ home: tempHome() }, state, new Logger(() => undefined))).source;
  });
  afterAll(() => lb.close());
  afterEach(() => jest.restoreAllMocks());

  it("fetches the quote's platform collateral (FMSPC and CA from its PCK certificate), which verifies the real quote", async () => {
    const quote = sample('tdx_quote');
    const collateral = await source(quote);
    if ('unavailable' in collateral) throw new Error(collateral.unavailable);
    expect(intelDcap(quote, collateral, SAMPLE_TIME).status).toBe('UpToDate');
    expect(lb.requests.slice(-4).map((r) => r.url)).toEqual([
      '/sgx/certification/v4/pckcrl?ca=processor&encoding=der',
      '/tdx/certification/v4/tcb?fmspc=B0C06F000000',
      '/tdx/certification/v4/qe/identity?update=standard',
      '/sgx/certification/v4/rootcacrl',
    ]);
  });

  it('reuses collateral until its nextUpdate, and fetches it again after', async () => {
    const quote = sample('tdx_quote');
    const before = lb.requests.length;
    jest.spyOn(Date, 'now').mockReturnValue(SAMPLE_TIME * 1000);
    await source(quote);
    await source(quote);
    expect(lb.requests.length - before).toBe(4);
    jest.spyOn(Date, 'now').mockReturnValue(1752920164 * 1000);
    await source(quote);
    expect(lb.requests.length - before).toBe(8);
  });

  it('says a quote without a PCK certificate has no collateral (a finding, not an error)', async () => {
    const out = await source(Buffer.alloc(700));
    expect(out).toEqual({ unavailable: expect.stringMatching(/PCK certificate cannot be read/) });
  });
});
