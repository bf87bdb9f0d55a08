import { Agent, type Dispatcher } from 'undici';
import type { CassetteInteraction, CassetteResponse } from '../../generated/types';
import { addSecret, redact, redactValue } from '../../log/redact';
import { CassetteWriter } from './cassette-writer';
import { type Controller, ForwardingHandler, type ResponseHeaders, wrapEachHandler } from './forwarding-handler';
import { parseJsonOrUndefined } from '../../util/json';

const DROPPED_HEADERS = ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'proxy-authorization'];
// Response headers that only describe one connection; they would mislead on replay.
const TRANSIENT_HEADERS = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'content-encoding']);
/** Fields that hold a credential whatever its shape (OAuth tokens need not start with cak_/crt_). */
const SECRET_FIELDS = new Set([
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'accessToken',
  'refreshToken',
  'clientSecret',
  'api_key',
  'apiKey',
]);
/** More of one response than this is not kept (the rest still reaches the caller). */
const MAX_RECORDED_BODY_BYTES = 64 * 1024 * 1024;

/**
 * A dispatcher that talks to the real service and, on close, writes what it saw as a cassette.
 * Recording is an interceptor over a plain Agent that copies each response as it passes through
 * (streams are not held back). undici's SnapshotAgent was the first choice, but its recording
 * handler has no error callback: a dropped connection crashed the process.
 */
export function recordingDispatcher(file: string): { dispatcher: Dispatcher; close: () => Promise<void> } {
  const writer = new CassetteWriter(file);
  const agent = new Agent({ keepAliveTimeout: 4_000 });
  const dispatcher = agent.compose(
    wrapEachHandler((handler, opts) =>
      // E2EE traffic is ciphertext under one-time keys and nonces: no replay could use it. The
      // E2EE transport records the decrypted exchange instead (recordPlaintextExchange).
      E2EE_PATH.test(opts.path) ? handler : new RecordingHandler(opts, handler, (i) => writer.append(i)),
    ),
  );
  (dispatcher as PlaintextRecording)[PLAINTEXT_RECORDER] = (i) => writer.append(i);
  const close = async () => {
    writer.finish();
    await agent.close();
  };
  return { dispatcher, close };
}

/**
 * Masks credential fields by name, registering their values as secrets first, so that the same
 * value is masked wherever else it appears (another body, a header, a log line).
 */
export function redactSecretFields(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecretFields);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === '__proto__') continue;
    if (SECRET_FIELDS.has(k) && typeof v === 'string') {
      addSecret(v);
      out[k] = '[redacted]';
    } else out[k] = redactSecretFields(v);
  }
  return out;
}

const E2EE_PATH = /^\/e2e\//;
const PLAINTEXT_RECORDER = Symbol('chutes-rpc plaintext recorder');
type PlaintextRecording = Dispatcher & { [PLAINTEXT_RECORDER]?: (i: CassetteInteraction) => void };

/**
 * Records an exchange at the plaintext layer (the decrypted request and answer of an E2EE call),
 * when `dispatcher` is recording; false when it is not. Redacted like every other interaction.
 */
export function recordPlaintextExchange(
  dispatcher: Dispatcher,
  exchange: { url: string; requestBody: Record<string, unknown>; status: number; headers: Record<string, string>; bodyText: string },
): boolean {
  const record = (dispatcher as PlaintextRecording)[PLAINTEXT_RECORDER];
  if (!record) return false;
  record({
    request: { method: 'POST', url: exchange.url, body: redactValue(redactSecretFields(exchange.requestBody) as Record<string, unknown>) },
    response: toResponse(exchange.status, exchange.headers, exchange.bodyText),
  });
  return true;
}

/** Passes every callback on, keeping a copy of the response; records it once it completed. */
class RecordingHandler extends ForwardingHandler {
  private status = 0;
  private headers: Record<string, string> = {};
  private readonly chunks: Buffer[] = [];
  private kept = 0;

  constructor(
    private readonly opts: Dispatcher.DispatchOptions,
    inner: Dispatcher.DispatchHandler,
    private readonly record: (i: CassetteInteraction) => void,
  ) {
    super(inner);
  }

  override onResponseStart(controller: Controller, statusCode: number, headers: ResponseHeaders, statusMessage?: string): void {
    this.status = statusCode;
    // undici gives the names lowercased; of a repeated header the last value is kept.
    for (const [name, value] of Object.entries(headers)) {
      const last = Array.isArray(value) ? value.at(-1) : value;
      if (last !== undefined) this.headers[name] = last;
    }
    super.onResponseStart(controller, statusCode, headers, statusMessage);
  }

  override onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.kept < MAX_RECORDED_BODY_BYTES) {
      const copy = Buffer.from(chunk.subarray(0, MAX_RECORDED_BODY_BYTES - this.kept));
      this.chunks.push(copy);
      this.kept += copy.length;
    }
    super.onResponseData(controller, chunk);
  }

  override onResponseEnd(controller: Controller, trailers: ResponseHeaders): void {
    try {
      this.record({
        request: this.request(),
        response: toResponse(this.status, this.headers, Buffer.concat(this.chunks).toString('utf8')),
      });
    } finally {
      super.onResponseEnd(controller, trailers);
    }
  }

  private request(): CassetteInteraction['request'] {
    const url = new URL(this.opts.path, this.opts.origin).toString();
    const request: CassetteInteraction['request'] = { method: this.opts.method, url };
    // JSON bodies are kept (redacted) so replays can tell requests apart; form bodies (OAuth
    // token calls, full of codes and secrets in URL-encoded form) are not kept at all.
    const body =
      typeof this.opts.body === 'string' ? this.opts.body : Buffer.isBuffer(this.opts.body) ? this.opts.body.toString('utf8') : undefined;
    const json = body === undefined ? undefined : parseJsonOrUndefined(body);
    if (json && typeof json === 'object' && !Array.isArray(json)) {
      request.body = redactValue(redactSecretFields(json) as Record<string, unknown>);
    }
    return request;
  }
}

/** `seen`: the response headers, names lowercased (as undici gives them). */
function toResponse(status: number, seen: Record<string, string>, text: string): CassetteResponse {
  // Token fields are registered as secrets before anything is redacted, so headers and text are clean too.
  const raw = (seen['content-type'] ?? '').includes('json') ? parseJsonOrUndefined(text) : undefined;
  const named = raw === undefined ? undefined : redactSecretFields(raw);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(seen)) {
    if (TRANSIENT_HEADERS.has(name) || DROPPED_HEADERS.includes(name)) continue;
    headers[name] = redact(value);
  }
  const response: CassetteResponse = { status, headers };
  const clean = redact(text);
  if ((headers['content-type'] ?? '').includes('text/event-stream')) {
    const sse = parseSse(clean);
    if (sse) {
      response.sse = sse;
      return response;
    }
  }
  if (named !== undefined) response.json = redactValue(named);
  else response.body = clean;
  return response;
}

/** Splits a plain `data:`-only event stream into its items, or undefined when it is anything else. */
function parseSse(text: string): Array<string | Record<string, unknown>> | undefined {
  const events = text.split(/\r?\n\r?\n/).filter((e) => e.trim() !== '');
  const items: Array<string | Record<string, unknown>> = [];
  for (const e of events) {
    if (!e.startsWith('data: ') || e.includes('\n')) return undefined;
    const data = e.slice(6);
    const parsed = parseJsonOrUndefined(data);
    items.push(parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : data);
  }
  // Re-encoding must give the same bytes, or the raw body is kept instead.
  const again = items.map((i) => `data: ${typeof i === 'string' ? i : JSON.stringify(i)}\n\n`).join('');
  return again === text.replace(/\r\n/g, '\n') ? items : undefined;
}
