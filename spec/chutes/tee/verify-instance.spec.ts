import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { ROOT } from '../../helpers/rpc-process';
import { nonceBindingDigest } from '../../../lib/chutes/tee/binding';
import { matchMeasurement, readMeasurementRows } from '../../../lib/chutes/tee/measurements';
import { type InstanceInputs, verifyInstance } from '../../../lib/chutes/tee/verify-instance';
import type { DcapCollateral, TeeInstanceEvidence } from '../../../lib/generated/types';
import {
  chutesReportData,
  fakeDcap,
  fakeE2ePubkey,
  measurementRow,
  MRTD,
  RTMRS,
  syntheticQuote,
  type SyntheticQuote,
  testCert,
} from '../../helpers/tee';

const NONCE = 'ab'.repeat(32);
const COLLATERAL = {} as DcapCollateral;
const e2ePubkey = fakeE2ePubkey();

function inputs(
  q: SyntheticQuote = {},
  over: Partial<Omit<InstanceInputs, 'entry'>> & { entry?: Partial<TeeInstanceEvidence> } = {},
): InstanceInputs {
  const cert = testCert();
  const quote = syntheticQuote({ reportData: chutesReportData(NONCE, e2ePubkey, cert), ...q });
  const { entry, ...rest } = over;
  return {
    entry: { instance_id: 'inst-1', quote: quote.toString('base64'), certificate: cert.der.toString('base64'), ...entry },
    nonce: NONCE,
    e2ePubkey,
    collateral: COLLATERAL,
    measurements: readMeasurementRows([measurementRow()]),
    nowSecs: 1_800_000_000,
    tcbStatuses: ['UpToDate'],
    ...rest,
  };
}

const failing = (r: ReturnType<typeof verifyInstance>) =>
  Object.entries(r.checks)
    .filter(([, c]) => !c.ok)
    .map(([k]) => k);

describe('one instance, synthetic quotes (DCAP injected)', () => {
  it('verifies a quote bound to the nonce, the key and the certificate, and names the key digest', () => {
    const r = verifyInstance(inputs(), fakeDcap());
    expect(failing(r)).toEqual([]);
    expect(r).toMatchObject({ verified: true, tcbStatus: 'UpToDate', quoteVersion: 4, measurement: { name: '8xh200', version: '1.3.0' } });
    expect(r.e2ePubkeySha256).toBe(createHash('sha256').update(Buffer.from(e2ePubkey, 'base64')).digest('hex'));
    expect(r.checks.attestedBody).toMatchObject({ ok: true, skipped: true });
  });

  it('reads v5 quotes at their own offsets (report at 54)', () => {
    const r = verifyInstance(inputs({ version: 5 }), fakeDcap());
    expect(r.verified).toBe(true);
    expect(r.quoteVersion).toBe(5);
    // The same bytes read at v4 offsets would be 6 bytes early: the binding would fail.
    const v5 = syntheticQuote({ version: 5, reportData: chutesReportData(NONCE, e2ePubkey, testCert()) });
    expect(v5.subarray(568, 600).equals(nonceBindingDigest(NONCE, e2ePubkey))).toBe(false);
    expect(v5.subarray(574, 606).equals(nonceBindingDigest(NONCE, e2ePubkey))).toBe(true);
  });

  describe('nonce binding', () => {
    it('matches the spec vector: SHA256(UTF8(nonce + key)) and not the hex-decoded form', () => {
      // The spec's instance key: ML-KEM-768 keygen from the seed 0x11 x 64 (noble is ESM: made in a child node).
      const ek = execFileSync(
        process.execPath,
        [
          '-e',
          "const {ml_kem768}=require('@noble/post-quantum/ml-kem.js');process.stdout.write(Buffer.from(ml_kem768.keygen(new Uint8Array(64).fill(0x11)).publicKey).toString('base64'))",
        ],
        { cwd: ROOT, encoding: 'utf8' },
      );
      expect(createHash('sha256').update(Buffer.from(ek, 'base64')).digest('hex')).toBe(
        '27ee97675ef5c87eab6f25d7348c278ff46ed744eb5ffd7076edc87a00bffa3b',
      );
      expect(nonceBindingDigest(NONCE, ek).toString('hex')).toBe('c335a6e46976a213ae0a1ca6d375eddb9e74c59967c2c86bf31fa8bd13d223e5');
      const decodedForm = Buffer.from('cac3698d87d9e8e075ee091508a608018439d715bb5fa5eba3038ea5b5fefd2a', 'hex');
      const cert = testCert();
      const wrong = inputs({ reportData: Buffer.concat([decodedForm, cert.spkiSha256]) }, { e2ePubkey: ek });
      expect(verifyInstance(wrong, fakeDcap()).checks.nonceBinding).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/not SHA256\(nonce \+ e2e_pubkey\)/),
      });
      const good = inputs({ reportData: Buffer.concat([nonceBindingDigest(NONCE, ek), cert.spkiSha256]) }, { e2ePubkey: ek });
      expect(verifyInstance(good, fakeDcap()).checks.nonceBinding.ok).toBe(true);
    });

    it.each([
      ['another nonce', { nonce: 'cd'.repeat(32) }],
      ['the nonce in upper case (the string is hashed as sent)', { nonce: NONCE.toUpperCase() }],
      ['another key', { e2ePubkey: fakeE2ePubkey() }],
    ])('fails with %s', (_what, over) => {
      const r = verifyInstance(inputs({}, over), fakeDcap());
      expect(failing(r)).toContain('nonceBinding');
      expect(r.verified).toBe(false);
    });

    it('fails without a key from /e2e/instances, and with a key that is not 1184 bytes', () => {
      const none = verifyInstance(inputs({}, { e2ePubkey: undefined }), fakeDcap());
      expect(none.checks.nonceBinding.reason).toMatch(/offered no e2e_pubkey/);
      expect(none.e2ePubkeySha256).toBeNull();
      const short = Buffer.alloc(800).toString('base64');
      const cert = testCert();
      const r = verifyInstance(inputs({ reportData: chutesReportData(NONCE, short, cert) }, { e2ePubkey: short }), fakeDcap());
      expect(r.checks.nonceBinding.reason).toMatch(/800 bytes, not an ML-KEM-768 key/);
    });
  });

  it('checks the certificate half: another certificate fails, and so does none', () => {
    const other = testCert(1);
    const r = verifyInstance(inputs({}, { entry: { certificate: other.der.toString('base64') } }), fakeDcap());
    expect(failing(r)).toEqual(['certificateBinding']);
    const none = verifyInstance(inputs({}, { entry: { certificate: undefined as never } }), fakeDcap());
    expect(none.checks.certificateBinding).toMatchObject({ ok: false, reason: 'the evidence has no certificate' });
  });

  it('rejects a debug TD by byte 0 of td_attributes, whatever DCAP says, and ignores byte 7', () => {
    const debug = verifyInstance(inputs({ tdAttributes: Buffer.from('0100001000000000', 'hex') }), fakeDcap());
    expect(failing(debug)).toEqual(['debug']);
    const byte7 = verifyInstance(inputs({ tdAttributes: Buffer.from('0000001000000001', 'hex') }), fakeDcap());
    expect(byte7.checks.debug.ok).toBe(true);
  });

  it.each([
    ['an SGX quote (tee_type 0)', { teeType: 0 }, /not TDX/],
    ['a version 3 quote', { version: 3 as never }, /version 3 is not supported/],
    ['a P-384 attestation key', { akType: 3 }, /not ECDSA-256-with-P-256/],
  ])('does not read %s, and fails every check that needs it', (_what, q, reason) => {
    const r = verifyInstance(inputs(q), fakeDcap());
    expect(r.checks.quote).toMatchObject({ ok: false, reason: expect.stringMatching(reason) });
    expect(r.checks.dcap.reason).toMatch(/^not checked/);
    expect(r.verified).toBe(false);
  });

  it('applies the TCB policy, and reports what DCAP refused', () => {
    const outOfDate = verifyInstance(inputs(), fakeDcap('OutOfDate', ['INTEL-SA-00837']));
    expect(failing(outOfDate)).toEqual(['tcbStatus']);
    expect(outOfDate).toMatchObject({ tcbStatus: 'OutOfDate', advisoryIds: ['INTEL-SA-00837'] });
    expect(verifyInstance(inputs({}, { tcbStatuses: ['UpToDate', 'OutOfDate'] }), fakeDcap('OutOfDate')).verified).toBe(true);
    const refused = verifyInstance(inputs(), () => {
      throw new Error('TCBInfo expired');
    });
    expect(refused.checks.dcap).toEqual({ ok: false, reason: 'TCBInfo expired' });
    const noCollateral = verifyInstance(inputs({}, { collateral: { unavailable: 'no PCK chain' } }), fakeDcap());
    expect(noCollateral.checks.dcap.reason).toBe('no DCAP collateral: no PCK chain');
  });

  it('fails DCAP when the report it verified differs from the bytes read', () => {
    const r = verifyInstance(inputs(), () => ({
      status: 'UpToDate',
      advisoryIds: [],
      report: { mrTd: Buffer.alloc(48), rtMrs: RTMRS, reportData: Buffer.alloc(64), tdAttributes: Buffer.alloc(8) },
    }));
    expect(r.checks.dcap.reason).toMatch(/differ/);
  });

  describe('measurements', () => {
    const quote = { mrTd: MRTD, rtMrs: RTMRS };
    it('matches exactly, with hex and RTMR keys in any case (and 0x)', () => {
      expect(matchMeasurement(quote, readMeasurementRows([measurementRow('a', { upper: true })])).ok).toBe(true);
      const prefixed = measurementRow('b', { mrtd: `0x${MRTD.toString('hex')}` });
      expect(matchMeasurement(quote, readMeasurementRows([prefixed])).ok).toBe(true);
    });

    it('fails with one register off, naming the closest row and the register', () => {
      const rt = RTMRS.map((r) => r.toString('hex'));
      rt[2] = 'ff'.repeat(48);
      const out = matchMeasurement(quote, readMeasurementRows([measurementRow('8xb200', { rtmrs: rt })]));
      expect(out).toEqual({ ok: false, reason: 'MRTD matches 8xb200 (1.3.0), but not RTMR2' });
    });

    it('does not accept a row that publishes RTMR3 as zeros, even when the quote has zeros there', () => {
      const zeros = Buffer.alloc(48);
      const rt = [...RTMRS.slice(0, 3).map((r) => r.toString('hex')), zeros.toString('hex')];
      const out = matchMeasurement(
        { mrTd: MRTD, rtMrs: [...RTMRS.slice(0, 3), zeros] },
        readMeasurementRows([measurementRow('old', { rtmrs: rt })]),
      );
      expect(out.ok).toBe(false);
      expect(!out.ok && out.reason).toMatch(/RTMR3 \(published as zeros: unverifiable\)/);
    });

    it('ignores rows of another tee_type and says when the MRTD matches nothing', () => {
      const snp = { ...measurementRow(), tee_type: 'sev-snp' };
      expect(readMeasurementRows([snp, 'junk', null])).toEqual([]);
      expect(matchMeasurement(quote, readMeasurementRows([measurementRow('x', { mrtd: 'aa'.repeat(48) })])).ok).toBe(false);
      const r = verifyInstance(inputs({}, { measurements: [] }), fakeDcap());
      expect(r.checks.measurement.reason).toMatch(/no TDX reference measurements/);
    });
  });

  describe('attested_body and signature', () => {
    const cert = () => testCert();
    function signed(body: unknown, signer = cert()) {
      const bytes = Buffer.from(JSON.stringify(body));
      return { attested_body: bytes.toString('base64'), signature: signer.sign(bytes).toString('base64') };
    }
    const quoteB64 = () => inputs().entry.quote;

    it('passes when signed by the certificate key over this nonce and quote', () => {
      const base = inputs();
      const r = verifyInstance(
        { ...base, entry: { ...base.entry, ...signed({ evidence: { tdx_quote: base.entry.quote }, nonce: NONCE }) } },
        fakeDcap(),
      );
      expect(r.checks.attestedBody).toMatchObject({ ok: true });
      expect(r.checks.attestedBody.skipped).toBeUndefined();
    });

    it.each([
      ['another nonce', () => signed({ evidence: { tdx_quote: quoteB64() }, nonce: 'cd'.repeat(32) }), /another nonce/],
      ['another quote', () => signed({ evidence: { tdx_quote: 'AAAA' }, nonce: NONCE }), /another quote/],
      [
        'a tampered body',
        () => {
          const s = signed({ evidence: { tdx_quote: quoteB64() }, nonce: NONCE });
          return {
            ...s,
            attested_body: Buffer.from(JSON.stringify({ evidence: { tdx_quote: quoteB64() }, nonce: NONCE, x: 1 })).toString('base64'),
          };
        },
        /does not verify/,
      ],
      ['a foreign key', () => signed({ evidence: { tdx_quote: quoteB64() }, nonce: NONCE }, testCert(1)), /does not verify/],
      ['a signature without a body', () => ({ signature: 'AAAA' }), /must come together/],
    ])('fails with %s', (_what, make, reason) => {
      const base = inputs();
      const r = verifyInstance({ ...base, entry: { ...base.entry, ...make() } }, fakeDcap());
      expect(r.checks.attestedBody).toMatchObject({ ok: false, reason: expect.stringMatching(reason) });
      expect(r.verified).toBe(false);
    });
  });

  describe('GPU evidence (offline nonce check)', () => {
    const spdm = (nonce: Buffer) =>
      Buffer.concat([Buffer.from([0x11, 0xe0, 0x01, 0xff]), nonce, Buffer.from([0x00, 0x11, 0x60])]).toString('base64');
    it('passes when each GPU carries SHA256(nonce + key) at 4..36, and fails otherwise', () => {
      const h = nonceBindingDigest(NONCE, e2ePubkey);
      const ok = verifyInstance(inputs({}, { entry: { gpu_evidence: [{ evidence: spdm(h), arch: 'HOPPER' }] } }), fakeDcap());
      expect(ok.checks.gpu).toMatchObject({ ok: true, reason: expect.stringMatching(/1 GPU/) });
      const bad = verifyInstance(
        inputs({}, { entry: { gpu_evidence: [{ evidence: spdm(h) }, { evidence: spdm(Buffer.alloc(32)) }] } }),
        fakeDcap(),
      );
      expect(bad.checks.gpu).toEqual({ ok: false, reason: 'GPU 1: the SPDM nonce is not SHA256(nonce + e2e_pubkey)' });
    });
  });
});
