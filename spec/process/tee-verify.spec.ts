import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Loopback, startLoopback, writeConfig } from '../helpers/loopback';
import { BIN, cleanEnv, type RpcProcess, tempHome, withServer } from '../helpers/rpc-process';
import {
  describeWithSamples,
  fakeE2ePubkey,
  rowFor,
  sample,
  SAMPLE_TIME,
  sampleJson,
  teeApiHandler,
  type TeeApiOptions,
  testCert,
} from '../helpers/tee';

const FAKE_KEY = 'cpk_test_fake_key';
const CHUTE = '0b5c6d7e-aaaa-4bbb-8ccc-ddddeeeeffff';
const MODEL = 'acme/Secret-TEE';

let servers: Loopback[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function api(over: Partial<TeeApiOptions> = {}): Promise<{ lb: Loopback; home: string }> {
  const lb = await startLoopback(
    teeApiHandler({ chuteId: CHUTE, model: MODEL, instances: [{ id: 'i-1', e2ePubkey: fakeE2ePubkey() }], ...over }),
  );
  servers.push(lb);
  const home = tempHome();
  writeConfig(home, {
    models: {
      providers: { chutes: { baseUrl: `${lb.url}/v1`, apiBaseUrl: lb.url, apiKey: FAKE_KEY, maxRetries: 0, tee: { pccsUrl: lb.url } } },
    },
  });
  return { lb, home };
}

function cli(args: string[], home: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv({ CHUTES_RPC_HOME: home }) });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

function expectClean(p: RpcProcess): void {
  expect(p.schemaProblems).toEqual([]);
  expect(p.stdout.toString('utf8')).not.toContain(FAKE_KEY);
  expect(p.stderr).not.toContain(FAKE_KEY);
}

describe('tee.verify and the attestation policy (spawned server, loopback API)', () => {
  it('reports an unsigned quote as not verified, says why per check, and refuses chat under require without sending it', async () => {
    const { lb, home } = await api();
    await withServer({ home }, async (p) => {
      const r = await p.request('tee.verify', { model: `chutes/${MODEL}` });
      expect(r.error).toBeUndefined();
      expect(r.result).toMatchObject({ model: `chutes/${MODEL}`, chuteId: CHUTE, verified: false, source: 'live', failedInstanceIds: [] });
      const checks = r.result.instances[0].checks;
      expect(checks.nonceBinding.ok).toBe(true);
      expect(checks.certificateBinding.ok).toBe(true);
      expect(checks.dcap).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/no DCAP collateral: the quote's PCK certificate cannot be read/),
      });

      const chat = await p.request('chat.complete', { model: MODEL, messages: [{ role: 'user', content: 'hi' }], attestation: 'require' });
      expect(chat.error?.code).toBe(-32061);
      expect(chat.error?.data.attestation).toMatchObject({
        verified: false,
        chuteId: CHUTE,
        failures: expect.arrayContaining([expect.objectContaining({ check: 'dcap' })]),
      });
      expect(lb.requests.map((q) => q.url)).not.toContain('/v1/chat/completions');

      const models = await p.request('models.discover', {});
      const listed = models.result.models.find((m: { upstreamId: string }) => m.upstreamId === MODEL);
      expect(listed).toMatchObject({ chuteId: CHUTE, tee: true, attestation: { verified: false } });

      const bad = await p.request('tee.verify', { model: MODEL, evidence: {} });
      expect(bad.error?.code).toBe(-32602);
      expectClean(p);
    });
  });

  it('answers a rate-limited evidence endpoint with -32029 and a clear message', async () => {
    const { home } = await api({ evidenceStatus: () => 429 });
    await withServer({ home }, async (p) => {
      const r = await p.request('tee.verify', { model: MODEL });
      expect(r.error).toMatchObject({ code: -32029, data: { type: 'rate_limited', httpStatus: 429 } });
      expect(r.error!.message).toMatch(/\/evidence: HTTP 429: Rate limit exceeded/);
      expectClean(p);
    });
  });
});

describeWithSamples('chutes-rpc tee verify (real sample quotes, loopback PCCS)', () => {
  it('verifies live, saves the evidence with its collateral, and re-checks the file offline', async () => {
    const quote = sample('tdx_quote');
    const { lb, home } = await api({
      baseQuote: quote,
      pccs: sampleJson('tdx_quote_collateral.json') as Record<string, string>,
      measurements: [rowFor(quote)],
    });
    const file = path.join(home, 'evidence.json');
    const live = await cli(['tee', 'verify', MODEL, '--save', file], home);
    expect(live.code).toBe(1);
    expect(live.stdout).toMatch(
      /^NOT VERIFIED: chutes\/acme\/Secret-TEE, chute 0b5c6d7e-aaaa-4bbb-8ccc-ddddeeeeffff: 0 of 1 instance verified\n/,
    );
    expect(live.stdout).toMatch(/ {2}pass {2}nonce binding +report_data\[0:32\] = SHA256\(nonce \+ e2e_pubkey\)/);
    // Now is long after the sample collateral's nextUpdate; the audit below checks as of its time.
    expect(live.stdout).toMatch(/ {2}FAIL {2}Intel DCAP +TCBInfo expired/);
    // The sample's RTMR3 is zeros: a row publishing zeros there cannot vouch for it.
    expect(live.stdout).toMatch(
      / {2}FAIL {2}measurements +MRTD matches sample \(1\.3\.0\), but not RTMR3 \(published as zeros: unverifiable\)/,
    );
    expect(lb.requests.map((r) => r.url)).toContain('/tdx/certification/v4/tcb?fmspc=B0C06F000000');
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(Object.keys(saved.collateral)).toEqual(['i-1']);

    const before = lb.requests.length;
    const audit = await cli(['tee', 'verify', '--evidence', file, '--at', String(SAMPLE_TIME), '--json'], home);
    expect(audit.code).toBe(1);
    const result = JSON.parse(audit.stdout);
    expect(result).toMatchObject({ source: 'audit', verified: false, checkedAt: new Date(SAMPLE_TIME * 1000).toISOString() });
    expect(result.instances[0].checks.dcap.reason).toBe('ISV enclave report signature is invalid');
    expect(lb.requests.length).toBe(before);
    expect(live.stdout + live.stderr + audit.stdout + audit.stderr).not.toContain(FAKE_KEY);
  });

  it('audits the untouched real quote at its time: DCAP UpToDate, but not bound to any Chutes key', async () => {
    const home = tempHome();
    const quote = sample('tdx_quote');
    const file = path.join(home, 'sample.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        nonce: 'ab'.repeat(32),
        evidence: { evidence: [{ instance_id: 'phala', quote: quote.toString('base64'), certificate: testCert().der.toString('base64') }] },
        e2ePubkeys: {},
        collateral: sampleJson('tdx_quote_collateral.json'),
        measurements: [rowFor(quote)],
      }),
    );
    const r = await cli(['tee', 'verify', '--evidence', file, '--at', new Date(SAMPLE_TIME * 1000).toISOString()], home);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/instance phala: NOT verified \(TCB UpToDate\)/);
    expect(r.stdout).toMatch(/ {2}pass {2}Intel DCAP/);
    expect(r.stdout).toMatch(/ {2}pass {2}TCB status +TCB status UpToDate/);
    expect(r.stdout).toMatch(/ {2}FAIL {2}nonce binding +\/e2e\/instances offered no e2e_pubkey/);
    expect(r.stdout).toMatch(/ {2}FAIL {2}certificate binding/);

    const missing = await cli(['tee', 'verify', '--evidence', path.join(home, 'nope.json')], home);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/file not found/);
  });
});
