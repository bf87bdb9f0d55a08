import * as fs from 'node:fs';
import * as path from 'node:path';
import { ChutesContext } from '../../../lib/chutes/context';
import { runChat } from '../../../lib/chutes/chat/call';
import { isVerifiedKey } from '../../../lib/chutes/tee/attestation-service';
import { e2ePubkeySha256 } from '../../../lib/chutes/tee/binding';
import { e2eeBinding } from '../../../lib/chutes/tee/chat-gate';
import { resolveConfigValue } from '../../../lib/config/load';
import { Logger } from '../../../lib/log/logger';
import { toRpcError } from '../../../lib/methods/rpc-errors';
import type { RpcError } from '../../../lib/server/rpc-error';
import type { ChatMessage } from '../../../lib/generated/types';
import { type Loopback, startLoopback } from '../../helpers/loopback';
import { tempHome } from '../../helpers/rpc-process';
import {
  fakeDcap,
  fakeE2ePubkey,
  measurementRow,
  type MockInstance,
  NO_COLLATERAL,
  teeApiHandler,
  type TeeApiOptions,
} from '../../helpers/tee';

const CHUTE = '5f2e1c3a-1111-4222-8333-444455556666';
const MODEL = 'acme/Secret-TEE';

let servers: Loopback[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function setup(api: Partial<TeeApiOptions> & { instances: MockInstance[] }, tee: Record<string, unknown> = {}) {
  const lb = await startLoopback(teeApiHandler({ chuteId: CHUTE, model: MODEL, ...api }));
  servers.push(lb);
  const state = resolveConfigValue(
    {
      models: {
        providers: { chutes: { baseUrl: `${lb.url}/v1`, apiBaseUrl: lb.url, apiKey: 'cpk_test_fake_key', maxRetries: 0, tee } },
      },
    },
    {},
  );
  expect(state.problems).toEqual([]);
  const app = new ChutesContext({ home: tempHome() }, state, new Logger(() => undefined), {
    attestation: { dcap: fakeDcap(), collateral: NO_COLLATERAL },
  });
  return { lb, app, service: app.attestation };
}

/** The JSON-RPC error a failed call is answered with. */
function failure(err: unknown): RpcError {
  return toRpcError(err) as RpcError;
}

const paths = (lb: Loopback) => lb.requests.map((r) => r.url.replace(/\?.*$/, ''));

describe('AttestationService against a loopback Chutes API (DCAP injected)', () => {
  it('verifies every instance bound to its key, and gives the E2EE transport their key digests', async () => {
    const instances = [
      { id: 'i-1', e2ePubkey: fakeE2ePubkey() },
      { id: 'i-2', e2ePubkey: fakeE2ePubkey() },
    ];
    const { lb, app, service } = await setup({ instances });
    const r = await service.verify(`chutes/${MODEL}`);
    expect(r).toMatchObject({ model: `chutes/${MODEL}`, chuteId: CHUTE, verified: true, source: 'live', policy: { measurements: 'live' } });
    expect(r.nonce).toMatch(/^[0-9a-f]{64}$/);
    expect(r.instances.map((i) => [i.instanceId, i.verified])).toEqual([
      ['i-1', true],
      ['i-2', true],
    ]);
    const evidenceUrl = lb.requests.find((q) => q.url.startsWith(`/chutes/${CHUTE}/evidence`))!.url;
    expect(evidenceUrl).toBe(`/chutes/${CHUTE}/evidence?nonce=${r.nonce}`);
    expect(lb.requests.find((q) => q.url === `/e2e/instances/${CHUTE}`)!.headers.authorization).toBe('Bearer cpk_test_fake_key');

    const keys = await service.verifiedKeys(CHUTE);
    expect(keys.keys).toEqual(instances.map((i) => ({ instanceId: i.id, e2ePubkeySha256: e2ePubkeySha256(i.e2ePubkey) })));
    expect(isVerifiedKey(keys, 'i-1', instances[0]!.e2ePubkey)).toBe(true);
    expect(isVerifiedKey(keys, 'i-1', instances[1]!.e2ePubkey)).toBe(false);
    // The E2EE transport's VerifiedKeys interface, and the binding a chat with attestation hands it.
    expect(await service.verifiedKeyHashes(CHUTE, { refresh: false })).toEqual(new Set(instances.map((i) => e2ePubkeySha256(i.e2ePubkey))));
    expect(e2eeBinding(app, { messages: [{ role: 'user', content: 'x' }], attestation: 'require' })).toEqual({
      binding: { mode: 'require', keys: service },
    });
    expect(e2eeBinding(app, { messages: [{ role: 'user', content: 'x' }] })).toEqual({});
    // From the cache: no second evidence request.
    expect(paths(lb).filter((p) => p.endsWith('/evidence'))).toHaveLength(1);
  });

  it('does not verify the one instance whose quote binds another key', async () => {
    const { service } = await setup({
      instances: [
        { id: 'good', e2ePubkey: fakeE2ePubkey() },
        { id: 'bad', e2ePubkey: fakeE2ePubkey(), wrongBinding: true },
      ],
    });
    const r = await service.verify(MODEL);
    expect(r.verified).toBe(true);
    const bad = r.instances.find((i) => i.instanceId === 'bad')!;
    expect(bad.verified).toBe(false);
    expect(bad.checks.nonceBinding.ok).toBe(false);
    expect((await service.verifiedKeys(CHUTE)).keys.map((k) => k.instanceId)).toEqual(['good']);
  });

  it('shares one verification between concurrent callers, and saves what it checked for an audit', async () => {
    const { lb, service } = await setup({ instances: [{ id: 'i-1', e2ePubkey: fakeE2ePubkey() }] });
    const [a, b, c] = await Promise.all([service.verify(MODEL, { save: true }), service.verify(MODEL), service.verifiedKeys(CHUTE)]);
    expect(paths(lb).filter((p) => p.endsWith('/evidence'))).toHaveLength(1);
    expect(a.nonce).toBe(b.nonce);
    expect(c.keys).toHaveLength(1);
    expect(a.saved).toMatchObject({ chuteId: CHUTE, nonce: a.nonce, e2ePubkeys: { 'i-1': expect.any(String) } });
    expect(b.saved).toBeUndefined();
    const audited = await service.audit({ ...a.saved!, at: a.checkedAt });
    expect(audited).toMatchObject({ source: 'audit', verified: true, nonce: a.nonce, policy: { measurements: 'given' } });
  });

  it('on 429 from the evidence endpoint: a clear rate_limited error, or the fresh cached result', async () => {
    let status: number | undefined = 429;
    const { service } = await setup({ instances: [{ id: 'i-1', e2ePubkey: fakeE2ePubkey() }], evidenceStatus: () => status });
    const err = failure(await service.verify(MODEL).catch((e: unknown) => e));
    expect(err.code).toBe(-32029);
    expect(err.message).toMatch(/evidence: HTTP 429: Rate limit exceeded/);
    status = undefined;
    const first = await service.verify(MODEL);
    status = 429;
    const again = await service.verify(MODEL, { refresh: true });
    expect(again).toMatchObject({ source: 'cache', verified: true, nonce: first.nonce });
  });

  it('uses the pinned measurements file instead of the unsigned endpoint, and says so', async () => {
    const dir = tempHome();
    fs.writeFileSync(path.join(dir, 'pinned.json'), JSON.stringify([measurementRow('pinned-row')]));
    const { lb, service } = await setup(
      { instances: [{ id: 'i-1', e2ePubkey: fakeE2ePubkey() }] },
      { measurementsFile: path.join(dir, 'pinned.json') },
    );
    const r = await service.verify(MODEL);
    expect(r).toMatchObject({ verified: true, policy: { measurements: 'pinned' } });
    expect(r.instances[0]!.measurement).toEqual({ name: 'pinned-row', version: '1.3.0' });
    expect(paths(lb)).not.toContain('/servers/tee/measurements');
  });

  it('refuses models that are not TEE, and unknown ones, as errors (nothing to check)', async () => {
    const { service: notTee } = await setup({ instances: [], tee: false });
    expect(failure(await notTee.verify(MODEL).catch((e: unknown) => e)).code).toBe(-32061);
    expect(failure(await notTee.verify('acme/Nope').catch((e: unknown) => e)).code).toBe(-32004);
  });

  describe('the chat policy', () => {
    const user: [ChatMessage] = [{ role: 'user', content: 'hi' }];
    const chat = (app: ChutesContext, attestation: 'verify' | 'require') =>
      runChat(app, { params: { model: MODEL, messages: user, attestation }, streamId: 's', signal: new AbortController().signal });

    it('require: refuses an unverifiable model before anything is sent, with the failed checks', async () => {
      const { lb, app } = await setup({ instances: [{ id: 'i-1', e2ePubkey: fakeE2ePubkey(), wrongBinding: true }] });
      const err = failure(await chat(app, 'require').catch((e: unknown) => e));
      expect(err.code).toBe(-32061);
      expect(err.message).toMatch(/no verified TEE instance .*nonceBinding/);
      const data = err.data as { attestation: { verified: boolean; failures: Array<{ check: string }> } };
      expect(data.attestation.verified).toBe(false);
      expect(data.attestation.failures.map((f) => f.check)).toContain('nonceBinding');
      expect(paths(lb)).not.toContain('/v1/chat/completions');
    });

    it('require: refuses when the chute cannot be checked (rate limited), still sending nothing', async () => {
      const { lb, app } = await setup({ instances: [{ id: 'i-1', e2ePubkey: fakeE2ePubkey() }], evidenceStatus: () => 429 });
      const err = failure(await chat(app, 'require').catch((e: unknown) => e));
      expect(err.code).toBe(-32061);
      expect((err.data as { attestation: { error: string } }).attestation.error).toMatch(/HTTP 429/);
      expect(paths(lb)).not.toContain('/v1/chat/completions');
    });

    it('verify: sends, and attaches the verification summary to the result; models.discover shows it', async () => {
      const { lb, app } = await setup({ instances: [{ id: 'i-1', e2ePubkey: fakeE2ePubkey() }] });
      const r = await chat(app, 'verify');
      expect(r.attestation).toMatchObject({
        chuteId: CHUTE,
        verified: true,
        instances: 1,
        verifiedInstances: 1,
        tcbStatuses: ['UpToDate'],
      });
      expect(paths(lb)).toContain('/v1/chat/completions');
      const listed = await app.models.discover();
      expect(listed.models.find((m) => m.upstreamId === MODEL)).toMatchObject({
        chuteId: CHUTE,
        tee: true,
        attestation: { verified: true },
      });
    });
  });
});
