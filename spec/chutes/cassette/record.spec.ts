import * as fs from 'node:fs';
import * as path from 'node:path';
import { request } from 'undici';
import { recordingDispatcher } from '../../../lib/chutes/cassette/record';
import { validate } from '../../../lib/schema-validation';
import { startLoopback } from '../../helpers/loopback';
import { tempHome } from '../../helpers/rpc-process';

const ACCESS = 'opaque-access-token-7Qz';
const REFRESH = 'opaque-refresh-token-9Xy';

describe('--record', () => {
  it('streams each interaction to disk as it completes, then finishes a valid cassette with token fields masked everywhere', async () => {
    const up = await startLoopback((req, res) => {
      if (req.url === '/idp/token') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ access_token: ACCESS, refresh_token: REFRESH, id_token: 'opaque-id-token-1Ab', token_type: 'bearer' }));
      } else if (req.url === '/v1/echo') {
        res.setHeader('content-type', 'text/plain');
        res.end(`you sent ${ACCESS}, base64 ${Buffer.from(REFRESH).toString('base64')}`);
      } else {
        res.setHeader('content-type', 'text/event-stream');
        res.end('data: {"a":1}\n\ndata: [DONE]\n\n');
      }
    });
    const file = path.join(tempHome(), 'cassette.json');
    const rec = recordingDispatcher(file);
    try {
      const call = async (p: string, body?: string) => {
        const r = await request(`${up.url}${p}`, { dispatcher: rec.dispatcher, method: body ? 'POST' : 'GET', ...(body ? { body } : {}) });
        await r.body.text();
      };
      await call('/idp/token', JSON.stringify({ client_secret: 'opaque-client-secret-3Cd', grant_type: 'refresh_token' }));
      await call('/v1/echo');
      // Nothing waits for close: the interactions are on disk already.
      const partial = fs.readdirSync(path.dirname(file)).find((f) => f.endsWith('.partial'));
      expect(partial).toBeDefined();
      const soFar = fs.readFileSync(path.join(path.dirname(file), partial!), 'utf8');
      expect(soFar).toContain('/v1/echo');
      expect(fs.statSync(path.join(path.dirname(file), partial!)).mode & 0o777).toBe(0o600);
      await call('/v1/sse');
    } finally {
      await rec.close();
      await up.close();
    }
    const text = fs.readFileSync(file, 'utf8');
    const cassette = JSON.parse(text);
    expect(validate('cassette', cassette)).toEqual([]);
    expect(cassette.interactions).toHaveLength(3);
    expect(text).toBe(JSON.stringify(cassette, null, 2) + '\n');
    for (const secret of [
      'opaque-access',
      'opaque-refresh',
      'opaque-id-token',
      'opaque-client-secret',
      Buffer.from(REFRESH).toString('base64'),
    ])
      expect(text).not.toContain(secret);
    expect(cassette.interactions[0].response.json.access_token).toBe('[redacted]');
    expect(cassette.interactions[1].response.body).toMatch(/you sent \[redacted\], base64 \[redacted\]/);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['cassette.json']);
  });
});
