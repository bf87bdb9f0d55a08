/**
 * Every check of one instance's evidence, offline and synchronous: given what was fetched (or saved),
 * it says which checks pass and why the others fail. An instance is verified only when all pass.
 */
import type { DcapCollateral, TeeCheck, TeeInstanceEvidence, TeeInstanceReport } from '../../generated/types';
import { checkAttestedBody } from './attested-body';
import { certificateSpkiSha256, e2ePubkeySha256, isStandardBase64, ML_KEM_768_PUBKEY_BYTES, nonceBindingDigest } from './binding';
import type { DcapVerifier } from './dcap';
import { checkGpuEvidence } from './gpu-evidence';
import { matchMeasurement, type MeasurementRow } from './measurements';
import { parseTdxQuote, type TdxQuoteFields } from './tdx-quote';

export interface InstanceInputs {
  entry: TeeInstanceEvidence;
  /** The nonce sent, as 64 hex characters, exactly as sent. */
  nonce: string;
  /** The instance's e2e_pubkey as /e2e/instances served it; undefined when it offered none. */
  e2ePubkey: string | undefined;
  /** The collateral for this quote's platform, or why there is none. */
  collateral: DcapCollateral | { unavailable: string };
  measurements: readonly MeasurementRow[];
  nowSecs: number;
  /** The TCB statuses accepted. */
  tcbStatuses: readonly string[];
}

type Checks = TeeInstanceReport['checks'];

const pass = (reason: string): TeeCheck => ({ ok: true, reason });
const fail = (reason: string): TeeCheck => ({ ok: false, reason });
const notRun = (why: string): TeeCheck => ({ ok: false, reason: `not checked: ${why}` });

function decodeBase64(value: unknown): Buffer | undefined {
  return typeof value === 'string' && value !== '' ? Buffer.from(value, 'base64') : undefined;
}

function keyCheck(e2ePubkey: string | undefined): { ok: true } | { ok: false; reason: string } {
  if (e2ePubkey === undefined) return { ok: false, reason: '/e2e/instances offered no e2e_pubkey for this instance' };
  if (!isStandardBase64(e2ePubkey)) return { ok: false, reason: 'the e2e_pubkey is not standard base64' };
  const len = Buffer.from(e2ePubkey, 'base64').length;
  if (len !== ML_KEM_768_PUBKEY_BYTES) return { ok: false, reason: `the e2e_pubkey is ${len} bytes, not an ML-KEM-768 key (1184)` };
  return { ok: true };
}

function nonceBinding(quote: TdxQuoteFields, inputs: InstanceInputs): TeeCheck {
  const key = keyCheck(inputs.e2ePubkey);
  if (!key.ok) return fail(key.reason);
  const expected = nonceBindingDigest(inputs.nonce, inputs.e2ePubkey!);
  if (!quote.reportData.subarray(0, 32).equals(expected)) {
    return fail('report_data[0:32] is not SHA256(nonce + e2e_pubkey): the quote was not made for this nonce and key');
  }
  return pass('report_data[0:32] = SHA256(nonce + e2e_pubkey)');
}

function certificateBinding(quote: TdxQuoteFields, cert: Buffer | undefined): TeeCheck {
  if (!cert) return fail('the evidence has no certificate');
  let digest: Buffer;
  try {
    digest = certificateSpkiSha256(cert);
  } catch (err) {
    return fail(`the certificate is not X.509 DER: ${(err as Error).message}`);
  }
  if (!quote.reportData.subarray(32, 64).equals(digest)) return fail("report_data[32:64] is not SHA256 of the certificate's public key");
  return pass("report_data[32:64] = SHA256(the certificate's SubjectPublicKeyInfo)");
}

function debugCheck(quote: TdxQuoteFields): TeeCheck {
  const tud = quote.tdAttributes[0]!;
  if (tud !== 0) return fail(`td_attributes byte 0 is 0x${tud.toString(16).padStart(2, '0')}: a debug (untrusted) TD`);
  return pass('td_attributes byte 0 (TUD, DEBUG) is 0');
}

function sameReport(quote: TdxQuoteFields, report: NonNullable<ReturnType<DcapVerifier>['report']>): boolean {
  const eq = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  return (
    eq(quote.mrTd, report.mrTd) &&
    eq(quote.reportData, report.reportData) &&
    eq(quote.tdAttributes, report.tdAttributes) &&
    quote.rtMrs.every((r, i) => report.rtMrs[i] !== undefined && eq(r, report.rtMrs[i]))
  );
}

export function verifyInstance(inputs: InstanceInputs, dcap: DcapVerifier): TeeInstanceReport {
  const { entry } = inputs;
  const report: TeeInstanceReport = {
    instanceId: entry.instance_id,
    verified: false,
    e2ePubkeySha256: keyCheck(inputs.e2ePubkey).ok ? e2ePubkeySha256(inputs.e2ePubkey!) : null,
    tcbStatus: null,
    advisoryIds: [],
    measurement: null,
    checks: undefined as unknown as Checks,
  };
  const raw = decodeBase64(entry.quote);
  const cert = decodeBase64(entry.certificate);
  let quote: TdxQuoteFields | undefined;
  let quoteCheck: TeeCheck;
  try {
    if (!raw) throw new Error('the evidence has no quote');
    quote = parseTdxQuote(raw);
    report.quoteVersion = quote.version;
    quoteCheck = pass(`TDX quote v${quote.version} (${quote.reportType === 'td15' ? 'TD 1.5' : 'TD 1.0'}), ECDSA P-256`);
  } catch (err) {
    quoteCheck = fail((err as Error).message);
  }

  const attestedBody = checkAttestedBody(entry, cert, inputs.nonce);
  const keyOk = keyCheck(inputs.e2ePubkey).ok;
  const gpu = keyOk
    ? checkGpuEvidence(entry.gpu_evidence, nonceBindingDigest(inputs.nonce, inputs.e2ePubkey!))
    : entry.gpu_evidence?.length
      ? { ok: false, reason: 'not checked: no usable e2e_pubkey to derive the GPU nonce from' }
      : checkGpuEvidence(entry.gpu_evidence, Buffer.alloc(32));

  let checks: Checks;
  if (!quote || !raw) {
    const why = 'the quote could not be read';
    checks = {
      quote: quoteCheck,
      nonceBinding: notRun(why),
      certificateBinding: notRun(why),
      debug: notRun(why),
      dcap: notRun(why),
      tcbStatus: notRun(why),
      measurement: notRun(why),
      attestedBody,
      gpu,
    };
  } else {
    let dcapCheck: TeeCheck;
    let tcbCheck: TeeCheck;
    if ('unavailable' in inputs.collateral) {
      dcapCheck = fail(`no DCAP collateral: ${inputs.collateral.unavailable}`);
      tcbCheck = notRun('DCAP did not verify the quote');
    } else {
      try {
        const verdict = dcap(raw, inputs.collateral, inputs.nowSecs);
        report.tcbStatus = verdict.status;
        report.advisoryIds = verdict.advisoryIds;
        if (verdict.report && !sameReport(quote, verdict.report)) {
          dcapCheck = fail('the fields DCAP verified differ from the ones read from the quote');
        } else {
          dcapCheck = pass('signature chain to the Intel SGX Root CA, CRLs, TCB info and QE identity valid at the time');
        }
        tcbCheck = inputs.tcbStatuses.includes(verdict.status)
          ? pass(`TCB status ${verdict.status}${verdict.advisoryIds.length ? ` (advisories ${verdict.advisoryIds.join(', ')})` : ''}`)
          : fail(`TCB status ${verdict.status} is not accepted (policy: ${inputs.tcbStatuses.join(', ')})`);
      } catch (err) {
        dcapCheck = fail((err as Error).message);
        tcbCheck = notRun('DCAP did not verify the quote');
      }
    }
    const measured = matchMeasurement(quote, inputs.measurements);
    if (measured.ok)
      report.measurement = measured.row.version ? { name: measured.row.name, version: measured.row.version } : { name: measured.row.name };
    checks = {
      quote: quoteCheck,
      nonceBinding: nonceBinding(quote, inputs),
      certificateBinding: certificateBinding(quote, cert),
      debug: debugCheck(quote),
      dcap: dcapCheck,
      tcbStatus: tcbCheck,
      measurement: measured.ok
        ? pass(`MRTD and RTMR0-3 match ${measured.row.name}${measured.row.version ? ` (${measured.row.version})` : ''}`)
        : fail(measured.reason),
      attestedBody,
      gpu,
    };
  }
  report.checks = checks;
  report.verified = Object.values(checks).every((c) => c.ok);
  return report;
}
