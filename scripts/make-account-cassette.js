#!/usr/bin/env node
// Writes fixtures/cassettes/account.json by recording (`serve --record`) the adapter against a
// loopback Chutes account API shaped as the wire notes say: GET /users/me/quota_usage/{chute_id}
// ({quota, used}, or {"quota": "unlimited"}), GET /users/me/quota_usage/me, GET
// /users/me/subscription_usage, and POST /invocations/{id}/report (an unknown id: 404). The recorded
// origin is rewritten to https://llm.chutes.ai (/v1/models) and https://api.chutes.ai (the rest).
// Run `npm run build` first; then: node scripts/make-account-cassette.js
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startRecordingAdapter } = require('./support/recording-adapter');
const {
  PLACEHOLDER_API_KEY,
  ROOT,
  cassetteInteractions,
  demoModelList,
  startLoopback,
  writeCassette,
} = require('./support/cassette-recording');

const out = path.join(ROOT, 'fixtures', 'cassettes', 'account.json');
const modelList = demoModelList();
const GLM_FLASH = '2b62f9fb-e191-55a4-b949-29622f4e5d72';
const KIMI = 'e8c226ff-ea5f-518f-87d9-f02d04b3584a';
const INVOCATION = '7c1e2d3f-4a5b-4c6d-8e9f-000000000001';

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function route(req, text, res) {
  if (req.method === 'GET' && req.url === '/v1/models') return json(res, 200, modelList);
  if (req.method === 'GET' && req.url === `/users/me/quota_usage/${GLM_FLASH}`) return json(res, 200, { quota: 200, used: 37 });
  if (req.method === 'GET' && req.url === `/users/me/quota_usage/${KIMI}`) return json(res, 200, { quota: 'unlimited' });
  if (req.method === 'GET' && req.url === '/users/me/quota_usage/me') return json(res, 200, { quota: 2000, used: 380 });
  if (req.method === 'GET' && req.url === '/users/me/subscription_usage') {
    return json(res, 200, {
      subscription: 'pro',
      monthly_price_usd: 10,
      used_usd: 2.75,
      limit_usd: 50,
      period_end: '2026-12-01T00:00:00Z',
    });
  }
  if (req.method === 'POST' && req.url === `/invocations/${INVOCATION}/report`) {
    const body = JSON.parse(text);
    if (typeof body.reason !== 'string' || body.reason === '') return json(res, 422, { detail: 'reason is required' });
    return json(res, 200, { status: 'reported' });
  }
  if (req.method === 'POST' && /^\/invocations\/[^/]+\/report$/.test(req.url)) return json(res, 404, { detail: 'Invocation not found' });
  json(res, 404, { detail: 'Not Found' });
}

async function main() {
  const server = await startLoopback(route);
  const { origin } = server;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chutes-account-'));
  fs.writeFileSync(
    path.join(home, 'config.json5'),
    JSON.stringify({
      models: {
        providers: { chutes: { baseUrl: `${origin}/v1`, apiKey: PLACEHOLDER_API_KEY } },
      },
    }),
  );
  const file = path.join(home, 'recorded.json');
  const adapter = startRecordingAdapter(home, file);
  const call = async (method, params) => {
    const r = await adapter.call(method, params);
    console.log(`${method} ${JSON.stringify(params)}: ${JSON.stringify(r.error ?? r.result)}`);
    return r;
  };
  // One at a time, so that the recorded order is the order a scenario asks in.
  await call('account.quota', { model: 'chutes/zai-org/GLM-4.7-Flash' });
  await call('account.quota', { model: 'moonshotai/Kimi-K2.5-TEE' });
  await call('account.quota', {});
  await call('chat.report', { invocationId: INVOCATION, reason: 'The answer is in the wrong language.' });
  await call('chat.report', { invocationId: 'no-such-invocation', reason: 'Wrong.' });
  await adapter.finish();
  server.close();

  const interactions = cassetteInteractions(file, origin, (rest) =>
    rest.startsWith('/v1/') ? `https://llm.chutes.ai${rest}` : `https://api.chutes.ai${rest}`,
  );
  writeCassette(
    out,
    'Recorded by scripts/make-account-cassette.js from a loopback Chutes account API: the quota of zai-org/GLM-4.7-Flash (200, 37 used) and of moonshotai/Kimi-K2.5-TEE (unlimited) by chute_id, the account-wide quota_usage/me (2000, 380 used), the subscription usage with each, and a report of invocation 7c1e2d3f-4a5b-4c6d-8e9f-000000000001 (accepted) and of an unknown one (404).',
    interactions,
  );
  fs.rmSync(home, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
