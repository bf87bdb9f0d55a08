import type { Dispatcher } from 'undici';
import type { ChutesContext } from '../context';
import type { ResolvedConfig } from '../../config/load';
import { CallCancelled, ChutesError } from '../errors';
import type { ChatDelta, ChatParams, ChatResult, Model, RateLimit } from '../../generated/types';
import type { Credential } from '../credentials';
import { errorDetail, errorFromNetwork, errorFromResponse, errorTypeForStatus } from '../http-errors';
import { computeCost, parseRateLimit } from './accounting';
import { ChatAssembler, completionAsChunk, mapUsage, type WireChunk } from './assembler';
import { modelIds, publicModelId, wireHeaders, wireRequest } from './request';
import {
  DEFAULT_MAX_DELAY_MS,
  DEFAULT_MAX_RETRY_AFTER_MS,
  isRetryableNetworkError,
  RETRY_STATUSES,
  type RetrySettings,
  retryDelayMs,

} from './retry';
import { type SseItem, SseDecoder } from './sse';
import { sleep } from '../../util/abort';

export interface ChatRun {
  params: ChatParams;
  /** Names the stream in deltas and the result. */
  streamId: string;
  /** Aborting it aborts the upstream request at once; the call then fails with -32800. */
  signal: AbortSignal;
  /**
   * Receives each delta (seq from 0, no gaps). It is awaited before more of the upstream body is
   * read: a slow consumer slows the upstream down instead of filling memory.
   */
  onDelta?: (delta: ChatDelta) => Promise<void> | void;
}

/** Error bodies are read up to this size; the message keeps far less. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** A whole JSON completion (a server that ignores stream: true) may be this large. */
const MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;
/** After [DONE] the response should end at once; it gets this long before the socket is dropped. */
const AFTER_DONE_MS = 2_000;

const VERSION: string = (require('../../../package.json') as { version: string }).version;

/**
 * One chat call against POST {baseUrl}/chat/completions with stream: true, shared by chat.stream,
 * chat.complete and the chat command. chat.complete streams upstream too: one code path, the
 * usage chunk Chutes adds to streams, a partial message when cancelled, and a timeout that
 * measures silence rather than the length of the answer.
 */
export async function runChat(app: ChutesContext, run: ChatRun): Promise<ChatResult> {
  return new ChatCall(app, run).run();
}

/** Failure of one attempt, and whether the policy allows another. */
interface AttemptFailure {
  error: ChutesError;
  /** Retry-After / X-RateLimit-Reset of the answer, when it had one. */
  serverWaitMs?: number;
  /** Worth retrying, if nothing was sent to the host yet. */
  retryable: boolean;
}

class ChatCall {
  private readonly config: ResolvedConfig;
  private readonly signal: AbortSignal;
  private asm = new ChatAssembler();
  private seq = 0;
  private attempts = 0;
  private rateLimit: RateLimit | undefined;
  /** The first line of the current attempt's body that was not SSE, if any. */
  private strayLine: string | undefined;
  private readonly models = new Map<string, Promise<Model | undefined>>();

  constructor(
    private readonly app: ChutesContext,
    private readonly run_: ChatRun,
  ) {
    this.config = app.requireConfig();
    this.signal = run_.signal;
  }

  async run(): Promise<ChatResult> {
    const { params } = this.run_;
    const { config, app, signal } = this;
    const { body, upstreamModel } = wireRequest(params, config);
    const ids = modelIds(upstreamModel);
    const teeOnly = params.teeOnly ?? config.teeOnly;

    if (teeOnly) {
      // The server refuses non-TEE models itself (426) when told X-TEE-Only; a model the metadata
      // knows is not TEE is refused here, before anything is sent.
      for (const id of ids) {
        const m = await this.model(id);
        if (m && m.tee === false) {
          throw new ChutesError('tee_required', {
            message: `teeOnly is set and ${publicModelId(id)} does not run in a TEE (confidential compute); the request was not sent`,
          });
        }
      }
    }
    this.throwIfCancelled();

    const creds = app.credentials;
    let cred = await creds.resolve(params.profile !== undefined ? { profile: params.profile, signal } : { signal });
    this.throwIfCancelled();
    if (!cred) {
      throw new ChutesError('auth_required', {
        message: params.profile !== undefined ? `No Chutes credential is stored for profile "${params.profile}"` : 'No Chutes credential is configured',
      });
    }
    // Prices are needed only for the cost at the end: fetched while the model generates.
    if (ids[0]) void this.model(ids[0]);

    const url = `${config.baseUrl}/chat/completions`;
    const payload = JSON.stringify(body);
    const settings: RetrySettings = {
      maxRetries: config.maxRetries,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: DEFAULT_MAX_DELAY_MS,
      maxRetryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS,
    };
    const dispatcher = app.http;
    let retries = 0;
    let refreshed = false;

    for (;;) {
      this.attempts++;
      app.log.debug(`chat ${this.run_.streamId}: POST ${url} model=${upstreamModel} attempt ${this.attempts}`);
      const headers = wireHeaders({ token: cred.token, config, upstreamModel, teeOnly, thinking: params.thinking === true, userAgent: `chutes-rpc/${VERSION}` });
      let failure: AttemptFailure | undefined;
      try {
        failure = await this.attempt(dispatcher, url, headers, payload);
        if (!failure) return await this.result(ids[0] ?? upstreamModel);
      } catch (err) {
        if (signal.aborted) throw this.cancelled();
        // Anything that is not an HTTP-level failure (a ChutesError, the host's output closing) ends the call as it is.
        if (err instanceof ChutesError || err instanceof CallCancelled || !isNetworkError(err)) throw err;
        failure = {
          error: errorFromNetwork(err, { method: 'POST', url, ...(app.settings.replay ? { replayFile: app.settings.replay } : {}) }),
          retryable: isRetryableNetworkError(err),
        };
      }

      if (failure.error.data.httpStatus === 401 && !refreshed) {
        // An OAuth token may have expired: refreshed once, then tried again with the new one.
        refreshed = true;
        const next: Credential | undefined = await creds.afterUnauthorized(cred, signal).catch((err: Error) => {
          app.log.debug(`credential refresh failed: ${err.message}`);
          return undefined;
        });
        this.throwIfCancelled();
        if (next) {
          cred = next;
          continue;
        }
      }

      // Never after a delta reached the host: the retry would send its text again.
      if (failure.retryable && this.asm.deltas === 0 && retries < settings.maxRetries) {
        const wait = retryDelayMs(retries + 1, failure.serverWaitMs, settings);
        if (wait !== undefined) {
          retries++;
          app.log.info(`chat ${this.run_.streamId}: ${failure.error.message}; retry ${retries} of ${settings.maxRetries} in ${wait} ms`);
          this.asm = new ChatAssembler();
          this.strayLine = undefined;
          try {
            await sleep(wait, signal);
          } catch {
            throw this.cancelled();
          }
          continue;
        }
      }
      throw this.finalError(failure.error);
    }
  }

  /** One HTTP exchange: undefined when the stream completed, else why it failed. */
  private async attempt(dispatcher: Dispatcher, url: string, headers: Record<string, string>, payload: string): Promise<AttemptFailure | undefined> {
    const { request } = require('undici') as typeof import('undici');
    const res = await request(url, {
      dispatcher,
      method: 'POST',
      headers,
      body: payload,
      signal: this.signal,
      headersTimeout: this.config.timeoutMs,
      bodyTimeout: this.config.timeoutMs,
    });
    const status = res.statusCode;
    if (status < 200 || status >= 300) {
      const text = await readText(res.body, MAX_ERROR_BODY_BYTES);
      const error = errorFromResponse(status, res.headers, text);
      const failure: AttemptFailure = { error, retryable: RETRY_STATUSES.has(status) };
      if (error.data.retryAfterMs !== undefined) failure.serverWaitMs = error.data.retryAfterMs;
      return failure;
    }
    this.rateLimit = parseRateLimit(res.headers) ?? this.rateLimit;
    const type = String(res.headers['content-type'] ?? '');
    if (!type.includes('event-stream') && type.includes('json')) return this.consumeJson(res.body);
    return this.consumeSse(res.body);
  }

  /** Reads the event stream, sending a delta for each chunk that carries one. */
  private async consumeSse(body: Dispatcher.ResponseData['body']): Promise<AttemptFailure | undefined> {
    const decoder = new SseDecoder();
    let done = false;
    let complete = false;
    let timer: NodeJS.Timeout | undefined;
    const iterator = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    try {
      for (;;) {
        let step: IteratorResult<Buffer>;
        try {
          step = await iterator.next();
        } catch (err) {
          if (done) break;
          if (this.signal.aborted) throw err;
          return this.broken(err);
        }
        if (step.done) break;
        if (done) continue; // After [DONE]: only waiting for the response to end.
        let items: SseItem[];
        try {
          items = decoder.push(step.value);
        } catch (err) {
          return this.broken(err);
        }
        for (let i = 0; i < items.length && !done; i++) {
          // Cancelled while a delta was being written: not one more goes out.
          if (this.signal.aborted) throw this.signal.reason;
          const outcome = await this.handle(items[i]!);
          if (outcome === DONE) {
            done = true;
            // The response should end right after; a server that keeps it open loses the socket.
            timer = setTimeout(() => body.destroy(), AFTER_DONE_MS);
          } else if (outcome) {
            return outcome;
          }
        }
      }
      complete = true;
      if (done) return undefined;
      let rest: SseItem[];
      try {
        rest = decoder.end();
      } catch (err) {
        return this.broken(err);
      }
      for (const item of rest) {
        const outcome = await this.handle(item);
        if (outcome === DONE) return undefined;
        if (outcome) return outcome;
      }
      return this.broken(undefined);
    } finally {
      clearTimeout(timer);
      // Failed or abandoned half way: the connection is dropped, which also stops the upstream.
      if (!complete) body.destroy();
    }
  }

  /** A server that answered the stream with one JSON completion. */
  private async consumeJson(body: Dispatcher.ResponseData['body']): Promise<AttemptFailure | undefined> {
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(await readText(body, MAX_JSON_BODY_BYTES)) as Record<string, unknown>;
    } catch (err) {
      if (this.signal.aborted) throw err;
      return this.broken(err);
    }
    if (value && typeof value === 'object' && (value.error !== undefined || value.detail !== undefined)) return this.streamError(value);
    const outcome = await this.chunk(completionAsChunk(value ?? {}));
    return outcome === DONE ? undefined : (outcome ?? undefined);
  }

  /** One SSE item: DONE at [DONE], a failure for an error, else undefined. */
  private async handle(item: SseItem): Promise<AttemptFailure | typeof DONE | undefined> {
    if (item.kind === 'raw') {
      // Chutes writes an error after output started as raw JSON, with no data: prefix.
      const line = item.line.trim();
      if (line === '') return undefined;
      const value = parseJson(line);
      if (value && typeof value === 'object' && ('error' in value || 'detail' in value)) return this.streamError(value as Record<string, unknown>);
      this.app.log.debug(`chat ${this.run_.streamId}: ignoring a line that is not SSE: ${line.slice(0, 200)}`);
      this.strayLine ??= line.slice(0, 200);
      return undefined;
    }
    const data = item.data;
    if (data === '[DONE]') return DONE;
    if (data.trim() === '') return undefined;
    const value = parseJson(data);
    if (!value || typeof value !== 'object' || Array.isArray(value)) {
      return {
        error: new ChutesError('server_error', { message: `the stream sent an event that is not a JSON object: ${errorDetail(data.slice(0, 300))}` }),
        retryable: true,
      };
    }
    const chunk = value as WireChunk;
    if (item.event === 'error' || (chunk.error !== undefined && chunk.error !== null)) return this.streamError(chunk as Record<string, unknown>);
    return this.chunk(chunk);
  }

  private async chunk(chunk: WireChunk): Promise<typeof DONE | undefined> {
    const fields = this.asm.add(chunk);
    if (fields && this.run_.onDelta) await this.run_.onDelta({ streamId: this.run_.streamId, seq: this.seq++, ...fields });
    else if (fields) this.seq++;
    return undefined;
  }

  /** An error the upstream reported inside the stream (`{"error": ...}`, with or without data:). */
  private streamError(value: Record<string, unknown>): AttemptFailure {
    const inner = (value.error ?? value.detail) as Record<string, unknown> | string | undefined;
    let status: number | undefined;
    if (inner && typeof inner === 'object') {
      for (const k of ['code', 'status_code', 'status']) {
        const n = Number(inner[k]);
        if (Number.isInteger(n) && n >= 400 && n <= 599) {
          status = n;
          break;
        }
      }
    }
    const type = status !== undefined ? errorTypeForStatus(status) : 'server_error';
    const init: ConstructorParameters<typeof ChutesError>[1] = { message: `the upstream stream failed: ${errorDetail(JSON.stringify(value))}` };
    if (status !== undefined) init.httpStatus = status;
    const error = new ChutesError(type, init);
    return { error, retryable: error.data.retryable };
  }

  /** The connection failed, or the stream ended without [DONE]. */
  private broken(err: unknown): AttemptFailure {
    const what = `${this.asm.deltas} delta${this.asm.deltas === 1 ? '' : 's'} received`;
    if (err === undefined) {
      // A proxy's HTML page or some other non-SSE answer says more than "no [DONE]".
      const sent = this.strayLine !== undefined ? `; the server sent: ${errorDetail(this.strayLine)}` : '';
      return { error: new ChutesError('network_error', { message: `the stream ended before [DONE] (${what})${sent}` }), retryable: true };
    }
    const e = err as { code?: string; message?: string; cause?: { message?: string } };
    const why = e?.cause?.message ?? e?.message ?? String(err);
    return {
      error: new ChutesError('network_error', { message: `the stream broke before [DONE] (${what}): ${why}${e?.code && !why.includes(e.code) ? ` (${e.code})` : ''}` }),
      retryable: isRetryableNetworkError(err) || /closed|terminated|reset/i.test(why),
    };
  }

  /** The error the call ends with: attempts made, and the partial message once output started. */
  private finalError(error: ChutesError): ChutesError {
    const { type, ...data } = error.data;
    const init: ConstructorParameters<typeof ChutesError>[1] = { ...data, attempts: this.attempts };
    if (this.asm.deltas > 0) init.partial = this.asm.message();
    return new ChutesError(type, init);
  }

  private cancelled(): CallCancelled {
    return new CallCancelled(this.asm.message(), this.attempts);
  }

  private throwIfCancelled(): void {
    if (this.signal.aborted) throw this.cancelled();
  }

  private model(id: string): Promise<Model | undefined> {
    let p = this.models.get(id);
    if (!p) {
      p = this.app.models
        .lookup(id, { signal: this.signal })
        .catch((err: Error) => {
          this.app.log.debug(`no metadata for ${id}: ${err?.message ?? String(err)}`);
          return undefined;
        });
      this.models.set(id, p);
    }
    return p;
  }

  private async result(requested: string): Promise<ChatResult> {
    const served = this.asm.servedModel ?? requested;
    const message = this.asm.message();
    const reported = mapUsage(this.asm.usage);
    const usage = reported ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 };
    const result: ChatResult = {
      streamId: this.run_.streamId,
      model: publicModelId(served),
      message,
      finishReason: this.asm.finishReason,
      usage,
      attempts: this.attempts,
    };
    if (reported) {
      const id = modelIds(served)[0] ?? served;
      const cost = computeCost(reported, (await this.model(id))?.pricing);
      if (cost) result.cost = cost;
    }
    if (this.rateLimit) result.rateLimit = this.rateLimit;
    return result;
  }
}

const DONE = Symbol('done');

/** An error from undici about the connection (it has a code, or a cause that has one). No instanceof: errors may come from another realm. */
function isNetworkError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; cause?: { code?: unknown } };
  return typeof e.code === 'string' || typeof e.cause?.code === 'string';
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A response body as text, at most `limit` bytes of it (the rest is discarded). */
async function readText(body: Dispatcher.ResponseData['body'], limit: number): Promise<string> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    if (size < limit) {
      const part = size + chunk.length > limit ? chunk.subarray(0, limit - size) : chunk;
      parts.push(part);
      size += part.length;
    }
    if (size >= limit) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(parts).toString('utf8');
}
