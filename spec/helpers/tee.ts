/**
 * TEE test material: the real sample quotes (read from ../shared/tee-samples beside the clone, never
 * copied into the repository), synthetic quotes in the documented byte layout, a self-signed
 * attestation-proxy certificate, and a loopback Chutes API that serves evidence bound to the nonce
 * it is asked with.
 */
import { createHash, createSign, randomBytes, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

export const SAMPLES = path.resolve(__dirname, '..', '..', '..', 'shared', 'tee-samples');
export const samplesPresent = fs.existsSync(path.join(SAMPLES, 'tdx_quote'));
/** The time inside the v4 sample collateral's window, where it is UpToDate. */
export const SAMPLE_TIME = 1751624655;

/** describe() when the samples are there; otherwise a skipped block whose name says why. */
export const describeWithSamples: jest.Describe = samplesPresent
  ? describe
  : (((name: string, fn: () => void) =>
      describe.skip(`${name} (skipped: the real TDX samples are missing at ${SAMPLES})`, fn)) as unknown as jest.Describe);

export function sample(name: string): Buffer {
  return fs.readFileSync(path.join(SAMPLES, name));
}
export function sampleJson(name: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(SAMPLES, name), 'utf8')) as Record<string, unknown>;
}

export const sha256 = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** A self-signed RSA certificate like the attestation proxy's (CN=attestation-service), made with openssl. */
export interface TestCert {
  der: Buffer;
  keyPem: string;
  spkiSha256: Buffer;
  sign(data: Buffer): Buffer;
}

let certCache: TestCert[] = [];
export function testCert(index = 0): TestCert {
  while (certCache.length <= index) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tee-cert-'));
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          'key.pem',
          '-out',
          'cert.der',
          '-outform',
          'DER',
          '-subj',
          '/CN=attestation-service',
          '-days',
          '2',
        ],
        { cwd: dir, stdio: 'ignore' },
      );
      const der = fs.readFileSync(path.join(dir, 'cert.der'));
      const keyPem = fs.readFileSync(path.join(dir, 'key.pem'), 'utf8');
      const spki = new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
      certCache.push({ der, keyPem, spkiSha256: sha256(spki), sign: (data) => createSign('sha256').update(data).sign(keyPem) });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return certCache[index]!;
}

/** testCert(index) as node:tls's `cert` and `key` options (PEM), for a loopback https server. */
export function testTlsOptions(index = 0): { cert: string; key: string } {
  const cert = testCert(index);
  return { cert: new X509Certificate(cert.der).toString(), key: cert.keyPem };
}
afterAll(() => {
  certCache = [];
});

export interface SyntheticQuote {
  version?: 4 | 5;
  teeType?: number;
  akType?: number;
  tdAttributes?: Buffer;
  mrTd?: Buffer;
  rtMrs?: Buffer[];
  reportData?: Buffer;
}

export const MRTD = Buffer.alloc(48, 0x11);
export const RTMRS = [Buffer.alloc(48, 0x20), Buffer.alloc(48, 0x21), Buffer.alloc(48, 0x22), Buffer.alloc(48, 0x23)];
const INTEL_QE_VENDOR = Buffer.from('939a7233f79c4ca9940a0db3957f0607', 'hex');

/** A TDX quote with no valid signature, in the documented layout (v4: report at 48; v5: TD1.5 at 54). */
export function syntheticQuote(q: SyntheticQuote = {}): Buffer {
  const version = q.version ?? 4;
  const start = version === 5 ? 54 : 48;
  const bodyLen = version === 5 ? 648 : 584;
  const buf = Buffer.alloc(start + bodyLen + 4);
  buf.writeUInt16LE(version, 0);
  buf.writeUInt16LE(q.akType ?? 2, 2);
  buf.writeUInt32LE(q.teeType ?? 0x81, 4);
  INTEL_QE_VENDOR.copy(buf, 12);
  if (version === 5) {
    buf.writeUInt16LE(3, 48);
    buf.writeUInt32LE(648, 50);
  }
  (q.tdAttributes ?? Buffer.from('0000001000000000', 'hex')).copy(buf, start + 120);
  (q.mrTd ?? MRTD).copy(buf, start + 136);
  (q.rtMrs ?? RTMRS).forEach((r, i) => r.copy(buf, start + 328 + 48 * i));
  (q.reportData ?? Buffer.alloc(64)).copy(buf, start + 520);
  buf.writeUInt32LE(0, start + bodyLen);
  return buf;
}

/** report_data as a Chutes instance makes it. */
export function chutesReportData(nonce: string, e2ePubkey: string, cert: TestCert): Buffer {
  return Buffer.concat([sha256(Buffer.from(nonce + e2ePubkey, 'utf8')), cert.spkiSha256]);
}

/** A random 1184-byte "ML-KEM-768 key" in standard base64 (only its length and bytes matter here). */
export function fakeE2ePubkey(): string {
  return randomBytes(1184).toString('base64');
}

export function measurementRow(name = '8xh200', over: { mrtd?: string; rtmrs?: string[]; upper?: boolean } = {}): Record<string, unknown> {
  const hex = (b: Buffer) => (over.upper ? b.toString('hex').toUpperCase() : b.toString('hex'));
  const rt = over.rtmrs ?? RTMRS.map(hex);
  const key = (n: number) => (over.upper ? `RTMR${n}` : `rtmr${n}`);
  return {
    version: '1.3.0',
    name,
    mrtd: over.mrtd ?? hex(MRTD),
    boot_rtmrs: {},
    runtime_rtmrs: Object.fromEntries(rt.map((v, n) => [key(n), v])),
    expected_gpus: ['h200'],
    gpu_count: 8,
  };
}

export interface MockInstance {
  id: string;
  e2ePubkey: string;
  /** Bind the quote to another key than the one /e2e/instances serves. */
  wrongBinding?: boolean;
}

export interface TeeApiOptions {
  chuteId: string;
  model: string;
  tee?: boolean;
  instances: MockInstance[];
  /** Answer the evidence endpoint with this status (e.g. 429) instead. */
  evidenceStatus?: () => number | undefined;
  measurements?: unknown[];
  /** Build quotes from this one (a real sample) with report_data replaced, instead of synthetic ones. */
  baseQuote?: Buffer;
  /** Also play a PCCS serving this collateral in the PCS wire shape. */
  pccs?: Record<string, string>;
}

/** A copy of a v4 quote with report_data replaced (its signature then no longer verifies). */
export function withReportData(quote: Buffer, reportData: Buffer): Buffer {
  const out = Buffer.from(quote);
  reportData.copy(out, 568);
  return out;
}

/** The PCS/PCCS routes, answering as Intel's service does: CRL bytes, signed JSON, issuer chains in headers. */
function servePccs(collateral: Record<string, string>, url: URL, res: http.ServerResponse): boolean {
  const base = url.pathname;
  const send = (body: Buffer | string, headers: Record<string, string>) => {
    res.writeHead(200, headers);
    res.end(body);
  };
  if (base === '/sgx/certification/v4/pckcrl') {
    send(Buffer.from(collateral.pck_crl!, 'hex'), { 'sgx-pck-crl-issuer-chain': encodeURIComponent(collateral.pck_crl_issuer_chain!) });
  } else if (base === '/tdx/certification/v4/tcb') {
    send(`{"tcbInfo":${collateral.tcb_info},"signature":"${collateral.tcb_info_signature}"}`, {
      'content-type': 'application/json',
      'tcb-info-issuer-chain': encodeURIComponent(collateral.tcb_info_issuer_chain!),
    });
  } else if (base === '/tdx/certification/v4/qe/identity') {
    send(`{"enclaveIdentity":${collateral.qe_identity},"signature":"${collateral.qe_identity_signature}"}`, {
      'content-type': 'application/json',
      'sgx-enclave-identity-issuer-chain': encodeURIComponent(collateral.qe_identity_issuer_chain!),
    });
  } else if (base === '/sgx/certification/v4/rootcacrl') {
    send(collateral.root_ca_crl!, { 'content-type': 'text/plain' });
  } else return false;
  return true;
}

/** The measurement row a quote matches (from its own MRTD and RTMRs). */
export function rowFor(quote: Buffer, name = 'sample'): Record<string, unknown> {
  const hex = (off: number) => quote.subarray(off, off + 48).toString('hex');
  return { version: '1.3.0', name, mrtd: hex(184), runtime_rtmrs: { RTMR0: hex(376), RTMR1: hex(424), RTMR2: hex(472), RTMR3: hex(520) } };
}

/** Serves /v1/models, /chutes/:id/evidence, /e2e/instances/:id, /servers/tee/measurements and (recorded) chat. */
export function teeApiHandler(opts: TeeApiOptions) {
  const cert = testCert();
  const instanceQuote = (reportData: Buffer) =>
    opts.baseQuote ? withReportData(opts.baseQuote, reportData) : syntheticQuote({ reportData });
  return (req: http.IncomingMessage & { body: string }, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (opts.pccs && servePccs(opts.pccs, url, res)) return;
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/v1/models') {
      return json(200, {
        object: 'list',
        data: [{ id: opts.model, chute_id: opts.chuteId, confidential_compute: opts.tee ?? true, context_length: 32768 }],
      });
    }
    if (url.pathname === `/chutes/${opts.chuteId}/evidence`) {
      const status = opts.evidenceStatus?.();
      if (status) return json(status, { detail: 'Rate limit exceeded. Try again later.' }, status === 429 ? { 'retry-after': '1' } : {});
      const nonce = url.searchParams.get('nonce') ?? '';
      return json(200, {
        evidence: opts.instances.map((i) => ({
          instance_id: i.id,
          quote: instanceQuote(chutesReportData(nonce, i.wrongBinding ? fakeE2ePubkey() : i.e2ePubkey, cert)).toString('base64'),
          certificate: cert.der.toString('base64'),
          gpu_evidence: [],
        })),
        failed_instance_ids: [],
      });
    }
    if (url.pathname === `/e2e/instances/${opts.chuteId}`) {
      if (!req.headers.authorization) return json(401, { detail: "Can't find a user with that api key in our db :(" });
      return json(200, {
        instances: opts.instances.map((i) => ({ instance_id: i.id, e2e_pubkey: i.e2ePubkey, nonces: ['n'.repeat(32)] })),
        nonce_expires_in: 60,
        nonce_expires_at: Math.floor(Date.now() / 1000) + 60,
      });
    }
    if (url.pathname === '/servers/tee/measurements') return json(200, opts.measurements ?? [measurementRow()]);
    if (url.pathname === '/v1/chat/completions') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`,
      );
      return;
    }
    json(404, { detail: 'Not found' });
  };
}

/** A DCAP stand-in for synthetic quotes: every quote verifies with this status. */
export const fakeDcap =
  (status = 'UpToDate', advisoryIds: string[] = []) =>
  () => ({ status, advisoryIds });

/** Collateral that is never read (the fake DCAP ignores it). */
export const NO_COLLATERAL = async () => ({}) as never;
