import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { instanceKeys, openRequest, sealFrame, sealResponse, streamInit } from './e2ee-instance';
import { usageChunk, wireChunk } from './chat-upstream';

export const MOCK_KEY = 'cpk_test_fake_key';
export const CHUTE = '11111111-2222-4333-8444-555555555555';
export const PLAIN_CHUTE = '99999999-2222-4333-8444-555555555555';
export const MODEL = 'acme/Secret-TEE';
/** A model whose chute has no E2E-capable instance. */
export const PLAIN_MODEL = 'acme/Plain';

/** Switches a test flips to make the mock misbehave the ways the spec lists. */
export interface Faults {
  badTagInFrame?: number;
  frameBeforeInit?: boolean;
  noInit?: boolean;
  e2eError?: boolean;
  noInnerDone?: boolean;
  outerDoneAfterDrop?: boolean;
  wrongResponseKey?: boolean;
  shortBlob?: boolean;
  envelope?: boolean;
  gzipBomb?: boolean;
  plaintextUsageOnly?: boolean;
  /** Answer /e2e/invoke with this status and detail instead. */
  status?: { code: number; detail: string; times?: number };
  /** Refuse the next N nonces as if already used. */
  refuseNonces?: number;
  /** Discovery hands out this key (seed byte) for instance A instead of its real one. */
  swapKeySeed?: number;
}

export interface InvokeSeen {
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  body?: Record<string, any>;
}

export interface E2eeMock {
  url: string;
  faults: Faults;
  now: { ms: number };
  discoveries: number;
  invokes: InvokeSeen[];
  instanceIds: string[];
  close(): Promise<void>;
}

/**
 * The Chutes API and its E2EE instances in one loopback server (§3.1 of the spec): /v1/models,
 * /e2e/instances/{chute} (10 nonces per instance, 75 s on a fake clock), /e2e/invoke (nonce spent
 * first, then the instance decrypts, answers sealed to e2e_response_pk). The answer echoes the last
 * user message, so a test sees the plaintext round trip.
 */
export async function startE2eeMock(opts: { instances?: number; ratePerMinute?: number } = {}): Promise<E2eeMock> {
  const instances = Array.from({ length: opts.instances ?? 2 }, (_, i) => ({ id: `inst-${i}`, keys: instanceKeys(0x11 + i) }));
  const nonces = new Map<string, { instance: string; issuedAt: number }>();
  const sockets = new Set<import('node:net').Socket>();
  const mock: E2eeMock = {
    url: '',
    faults: {},
    now: { ms: 0 },
    discoveries: 0,
    invokes: [],
    instanceIds: instances.map((i) => i.id),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = req.url ?? '/';
      if (req.method === 'GET' && url === '/v1/models') {
        return json(res, 200, {
          object: 'list',
          data: [
            { id: MODEL, chute_id: CHUTE, confidential_compute: true, root: MODEL, created: 1 },
            { id: PLAIN_MODEL, chute_id: PLAIN_CHUTE, confidential_compute: false, root: PLAIN_MODEL, created: 1 },
          ],
        });
      }
      if (req.method === 'POST' && url === '/v1/chat/completions') {
        const body = JSON.parse(raw.toString('utf8')) as { model: string };
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify(wireChunk(body.model, { role: 'assistant', content: 'plain answer' }, 'stop'))}\n\n`);
        return res.end('data: [DONE]\n\n');
      }
      if (req.headers.authorization !== `Bearer ${MOCK_KEY}`)
        return json(res, 401, { detail: "Can't find a user with that api key in our db :(" });
      const discovery = /^\/e2e\/instances\/([^/]+)$/.exec(url);
      if (req.method === 'GET' && discovery) {
        mock.discoveries++;
        if (opts.ratePerMinute !== undefined && mock.discoveries > opts.ratePerMinute)
          return json(res, 429, { detail: 'Rate limit exceeded. Try again later.' });
        if (discovery[1] !== CHUTE) return json(res, 404, { detail: 'No E2E-capable instances available' });
        return json(res, 200, {
          instances: instances.map((inst, i) => {
            const list = Array.from({ length: 10 }, () => randomBytes(24).toString('base64url'));
            for (const n of list) nonces.set(n, { instance: inst.id, issuedAt: mock.now.ms });
            const key =
              i === 0 && mock.faults.swapKeySeed !== undefined ? instanceKeys(mock.faults.swapKeySeed).publicKey : inst.keys.publicKey;
            return { instance_id: inst.id, e2e_pubkey: Buffer.from(key).toString('base64'), nonces: list };
          }),
          nonce_expires_in: 60,
          nonce_expires_at: Math.floor(mock.now.ms / 1000) + 60,
        });
      }
      if (req.method === 'POST' && url === '/e2e/invoke') return invoke(req, res, raw);
      json(res, 404, { detail: 'Not Found' });
    });
  });

  async function invoke(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) {
    const seen: InvokeSeen = { headers: req.headers, raw };
    mock.invokes.push(seen);
    const f = mock.faults;
    // 1. The nonce is spent first, whatever follows.
    const nonce = String(req.headers['x-e2e-nonce'] ?? '');
    const issued = nonces.get(nonce);
    nonces.delete(nonce);
    const refuse = (f.refuseNonces ?? 0) > 0;
    if (refuse) f.refuseNonces!--;
    if (refuse || !issued || issued.instance !== req.headers['x-instance-id'] || mock.now.ms - issued.issuedAt >= 75_000) {
      return json(res, 403, { detail: 'Invalid, expired, or already-used nonce' });
    }
    if (f.status && (f.status.times ?? 1) > 0) {
      f.status.times = (f.status.times ?? 1) - 1;
      return json(res, f.status.code, { detail: f.status.detail });
    }
    const instance = instances.find((i) => i.id === req.headers['x-instance-id'])!;
    if (raw.length === 0) return json(res, 400, { detail: 'Empty request body' });
    let opened: ReturnType<typeof openRequest>;
    try {
      opened = openRequest(raw, instance.keys.secretKey);
    } catch {
      return json(res, 400, { detail: JSON.stringify({ detail: 'E2E decryption failed' }) });
    }
    seen.body = opened.body;
    if (req.headers['x-e2e-path'] !== '/v1/chat/completions') return json(res, 403, { detail: 'Instance returned status 403' });
    if (req.headers['x-e2e-stream'] !== String(Boolean(opened.body.stream)))
      return json(res, 400, { detail: 'X-E2E-Stream does not match the body' });
    const responseKey = f.wrongResponseKey ? instanceKeys(0x77).publicKey : opened.responseKey;
    const last = [...(opened.body.messages as Array<{ role: string; content: string }>)].reverse().find((m) => m.role === 'user');
    const text = `echo: ${String(last?.content ?? '')}`;
    const model = String(opened.body.model);

    if (!opened.body.stream) {
      const completion = {
        id: 'c1',
        object: 'chat.completion',
        model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
      };
      let blob = f.gzipBomb
        ? sealResponse(undefined, responseKey, require('node:zlib').gzipSync(Buffer.alloc(80 * 1024 * 1024)))
        : sealResponse(completion, responseKey);
      if (f.shortBlob) blob = blob.subarray(0, 1000);
      res.writeHead(200, { 'content-type': f.envelope ? 'application/json' : 'application/octet-stream' });
      return res.end(f.envelope ? JSON.stringify({ e2e: blob.toString('base64'), usage: completion.usage }) : blob);
    }

    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const { init, key } = streamInit(responseKey);
    const out: string[] = [];
    const ev = (o: object | string) => out.push(`data: ${typeof o === 'string' ? o : JSON.stringify(o)}\n\n`);
    const lines = [
      `data: ${JSON.stringify(wireChunk(model, { role: 'assistant', content: '' }))}\n`,
      '\n',
      `data: ${JSON.stringify(wireChunk(model, { reasoning_content: 'thinking…' }))}\n`,
      '\n',
      ...chunksOf(text).flatMap((c) => [`data: ${JSON.stringify(wireChunk(model, { content: c }))}\n`, '\n']),
      `data: ${JSON.stringify(wireChunk(model, {}, 'stop'))}\n`,
      '\n',
      ...(f.plaintextUsageOnly ? [] : [`data: ${JSON.stringify(usageChunk(model, 5, 7))}\n`, '\n']),
      'data: [DONE]\n',
      '\n',
    ];
    if (f.e2eError) {
      ev({ e2e_init: init });
      ev({ e2e: sealFrame(key, lines[0]!) });
      ev({ e2e_error: 'boom' });
      return finish(res, out);
    }
    if (f.frameBeforeInit) ev({ e2e: sealFrame(key, lines[0]!) });
    if (!f.noInit) ev({ e2e_init: init });
    let frames = 0;
    for (const line of f.noInnerDone || f.outerDoneAfterDrop ? lines.slice(0, -2) : lines) {
      frames++;
      let frame = sealFrame(key, line);
      if (f.badTagInFrame === frames) {
        const b = Buffer.from(frame, 'base64');
        b[b.length - 1]! ^= 1;
        frame = b.toString('base64');
      }
      if (line.includes('"usage":{')) ev({ usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } });
      if (!f.noInit) ev({ e2e: frame });
    }
    if (f.plaintextUsageOnly) ev({ usage: { prompt_tokens: 50, completion_tokens: 70, total_tokens: 120 } });
    if (f.outerDoneAfterDrop) ev('[DONE]');
    finish(res, out);
  }

  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mock.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return mock;
}

function chunksOf(text: string): string[] {
  const out: string[] = [];
  const step = text.length > 1000 ? 64 * 1024 : 7;
  for (let i = 0; i < text.length; i += step) out.push(text.slice(i, i + step));
  return out.length ? out : [''];
}

/** Writes the stream in small slices, so events straddle TCP writes. */
function finish(res: http.ServerResponse, out: string[]): void {
  const bytes = Buffer.from(out.join(''));
  for (let i = 0; i < bytes.length; i += 211) res.write(bytes.subarray(i, i + 211));
  res.end();
}
