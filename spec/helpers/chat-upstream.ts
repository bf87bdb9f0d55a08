import type * as http from 'node:http';
import { type Loopback, startLoopback, writeConfig } from './loopback';
import { tempHome } from './rpc-process';

export const FAKE_KEY = 'cpk_test_fake_key';

export type Req = http.IncomingMessage & { body: string; json: any };
export type Script = (req: Req, res: http.ServerResponse) => void | Promise<void>;

/** A chunk in the real wire shape (extra fields included), for `model`. */
export function wireChunk(model: string, delta: object, finish: string | null = null): object {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1787391200,
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    usage: null,
    chutes_verification: '2b2b847d04afca72b5e532ce3b05feb2',
  };
}

export function usageChunk(model: string, prompt: number, completion: number, cached?: number): object {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1787391200,
    model,
    choices: [],
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: cached === undefined ? null : { cached_tokens: cached },
    },
  };
}

export const event = (o: object | string) => `data: ${typeof o === 'string' ? o : JSON.stringify(o)}\n\n`;

export function startSse(res: http.ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'x-chutes-invocationid': 'inv-test', ...headers });
  res.flushHeaders();
}

/** Writes a whole stream, cut into odd-sized pieces so events straddle writes. */
export async function writeStream(
  res: http.ServerResponse,
  model: string,
  deltas: object[],
  opts: { finish?: string; usage?: [number, number, number?]; done?: boolean } = {},
) {
  let body = event(wireChunk(model, { role: 'assistant', content: '' }));
  for (const d of deltas) body += event(wireChunk(model, d));
  body += event(wireChunk(model, {}, opts.finish ?? 'stop'));
  if (opts.usage) body += event(usageChunk(model, ...opts.usage));
  if (opts.done !== false) body += event('[DONE]');
  const bytes = Buffer.from(body);
  for (let i = 0; i < bytes.length; i += 97) {
    res.write(bytes.subarray(i, i + 97));
    if (i % 970 === 0) await new Promise((r) => setImmediate(r));
  }
  res.end();
}

export interface Upstream extends Loopback {
  /** Chat requests seen, per model. */
  chats: Req[];
  scripts: Map<string, Script>;
  /** Other endpoints, by "METHOD /path" (e.g. "GET /chutes/warmup/acme/Cold"). */
  routes: Map<string, Script>;
  /** The live model list GET /v1/models answers with. */
  models: object[];
}

/**
 * A loopback Chutes: GET /v1/models answers `models`; POST /v1/chat/completions runs the script of
 * the body's model. Over https with `tls` (startLoopback).
 */
export async function startUpstream(tls?: { cert: string; key: string }): Promise<Upstream> {
  const scripts = new Map<string, Script>();
  const routes = new Map<string, Script>();
  const chats: Req[] = [];
  const models: object[] = [];
  const lb = await startLoopback(async (req, res) => {
    if (req.method === 'GET' && req.url === '/v1/models') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ object: 'list', data: models }));
      return;
    }
    const route = routes.get(`${req.method} ${req.url}`);
    if (route) return route(Object.assign(req, { json: undefined }), res);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
      res.statusCode = 404;
      res.end(JSON.stringify({ detail: 'Not Found' }));
      return;
    }
    const r: Req = Object.assign(req, { json: JSON.parse(req.body) as unknown });
    chats.push(r);
    const script = scripts.get(r.json.model);
    if (!script) {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ detail: `model not found: ${r.json.model}` }));
      return;
    }
    await script(r, res);
  }, tls);
  return Object.assign(lb, { chats, scripts, routes, models });
}

/** An upstream that lists `model` (not TEE) and streams "Hi there" for it, with usage. */
export async function startGreetingUpstream(model: string, tls?: { cert: string; key: string }): Promise<Upstream> {
  const up = await startUpstream(tls);
  up.models.push(liveModel(model, false));
  up.scripts.set(model, (_req, res) => writeStream(res, model, [{ content: 'Hi' }, { content: ' there' }], { usage: [3, 2] }));
  return up;
}

/**
 * A home whose config points at `upstream` with a fake key and tiny retry delays, and pacing off:
 * chat specs send far more than 60 requests a minute to their loopback (spec/process/chat-pacing.spec.ts
 * tests pacing, and passes its own rateLimit).
 */
export function chatHome(upstream: Loopback, provider: Record<string, unknown> = {}): string {
  const home = tempHome();
  writeConfig(home, {
    models: {
      providers: {
        chutes: { baseUrl: `${upstream.url}/v1`, apiKey: FAKE_KEY, retryBaseDelayMs: 1, rateLimit: { requestsPerMinute: 0 }, ...provider },
      },
    },
  });
  return home;
}

/** A /v1/models entry in the live shape. */
export function liveModel(id: string, tee: boolean, pricing = { prompt: 0.1, completion: 0.4, input_cache_read: 0.01 }): object {
  return {
    id,
    object: 'model',
    created: 1787391130,
    owned_by: 'sglang',
    root: id,
    chute_id: '3f2e1d0c-9b8a-5c7d-6e5f-4a3b2c1d0e9f',
    confidential_compute: tee,
    context_length: 32768,
    max_model_len: 32768,
    max_output_length: 8192,
    input_modalities: ['text'],
    output_modalities: ['text'],
    supported_features: ['tools', 'json_mode'],
    pricing,
  };
}
