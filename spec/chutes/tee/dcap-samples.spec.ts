import { Quote } from '@phala/dcap-qvl';
import type { DcapCollateral } from '../../../lib/generated/types';
import { intelDcap } from '../../../lib/chutes/tee/dcap';
import { parseTdxQuote } from '../../../lib/chutes/tee/tdx-quote';
import { describeWithSamples, sample, SAMPLE_TIME, sampleJson } from '../../helpers/tee';

/** Midpoint of a collateral's validity window (the later issueDate to the earlier nextUpdate). */
function windowMidpoint(c: Record<string, unknown>): number {
  const tcb = JSON.parse(c.tcb_info as string) as { issueDate: string; nextUpdate: string };
  const qe = JSON.parse(c.qe_identity as string) as { issueDate: string; nextUpdate: string };
  const from = Math.max(Date.parse(tcb.issueDate), Date.parse(qe.issueDate));
  const to = Math.min(Date.parse(tcb.nextUpdate), Date.parse(qe.nextUpdate));
  return Math.floor((from + to) / 2000);
}

function flip(buf: Buffer, offset: number, mask = 0x01): Buffer {
  const out = Buffer.from(buf);
  out[offset]! ^= mask;
  return out;
}

describeWithSamples('DCAP on the real TDX samples', () => {
  let quote: Buffer;
  let collateral: DcapCollateral;
  beforeAll(() => {
    quote = sample('tdx_quote');
    collateral = sampleJson('tdx_quote_collateral.json') as unknown as DcapCollateral;
  });

  it('verifies the v4 sample at its time as UpToDate, with no advisories, and gives the report fields', () => {
    const verdict = intelDcap(quote, collateral, SAMPLE_TIME);
    expect(verdict).toMatchObject({ status: 'UpToDate', advisoryIds: [] });
    const own = parseTdxQuote(quote);
    expect(Buffer.from(verdict.report!.mrTd)).toEqual(own.mrTd);
    expect(Buffer.from(verdict.report!.reportData)).toEqual(own.reportData);
  });

  it.each([
    ['report_data', 568],
    ['MRTD', 184],
    ['the debug byte of td_attributes', 168],
  ])('refuses the sample with %s tampered (the quote signature no longer verifies)', (_what, offset) => {
    expect(() => intelDcap(flip(quote, offset), collateral, SAMPLE_TIME)).toThrow(/ISV enclave report signature is invalid/);
  });

  it('refuses the sample with a byte of its ECDSA signature flipped', () => {
    // The signature data starts after the 4-byte length at 632.
    expect(() => intelDcap(flip(quote, 636 + 10), collateral, SAMPLE_TIME)).toThrow(/ISV enclave report signature is invalid/);
  });

  it('refuses edited TCB info (its signature no longer verifies)', () => {
    const edited = { ...collateral, tcb_info: collateral.tcb_info.replace('"UpToDate"', '"OutOfDate"') };
    expect(edited.tcb_info).not.toBe(collateral.tcb_info);
    expect(() => intelDcap(quote, edited, SAMPLE_TIME)).toThrow(/Signature is invalid for tcb_info/);
  });

  it('holds exactly inside the collateral window [1750329147, 1752920163)', () => {
    expect(intelDcap(quote, collateral, 1750329147).status).toBe('UpToDate');
    expect(intelDcap(quote, collateral, 1752920162).status).toBe('UpToDate');
    expect(() => intelDcap(quote, collateral, 1750329146)).toThrow(/QE Identity issue date is in the future/);
    expect(() => intelDcap(quote, collateral, 1752920164)).toThrow(/TCBInfo expired/);
  });

  it("gives Fmspc mismatch with the other sample's collateral, inside that collateral's window", () => {
    const other = sampleJson('tdx_quote_outdated_collateral.json');
    expect(() => intelDcap(quote, other as unknown as DcapCollateral, windowMidpoint(other))).toThrow(/Fmspc mismatch/);
  });

  it.each([
    ['tdx_quote', 4, 568],
    ['tdx_quote_outdated', 5, 574],
  ])('own parser agrees with the library on %s (v%i, report_data at %i)', (file, version, reportDataAt) => {
    const raw = sample(file);
    const own = parseTdxQuote(raw);
    const lib = Quote.parse(raw);
    const td = lib.report.asTd10() ?? lib.report.asTd15()!.base;
    expect(own.version).toBe(version);
    expect(own.version).toBe(lib.header.version);
    expect(own.teeType).toBe(lib.header.teeType);
    expect(own.attestationKeyType).toBe(lib.header.attestationKeyType);
    expect(own.reportType).toBe(lib.report.type);
    expect(own.tdAttributes).toEqual(Buffer.from(td.tdAttributes));
    expect(own.mrTd).toEqual(Buffer.from(td.mrTd));
    expect(own.rtMrs).toEqual([td.rtMr0, td.rtMr1, td.rtMr2, td.rtMr3].map((r) => Buffer.from(r)));
    expect(own.reportData).toEqual(Buffer.from(td.reportData));
    expect(own.reportData).toEqual(raw.subarray(reportDataAt, reportDataAt + 64));
    expect(own.reportOffset + (version === 5 ? 648 : 584)).toBe(lib.signedLength());
  });
});
