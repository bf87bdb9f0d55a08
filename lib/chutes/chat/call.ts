import type { ResolvedConfig } from '../../config/load';
import type { ChatDelta, ChatParams, ChatResult, Model, RateLimit } from '../../generated/types';
import { sleep } from '../../util/abort';
import type { ChutesContext } from '../context';
import type { Credential } from '../credentials';
import { CallCancelled, ChutesError, type ChutesErrorInit } from '../errors';
import { readCappedText } from '../http/body';
import { BodyReadError, type UpstreamBody } from '../http/upstream-body';
import { parseRateLimit } from '../http/rate-limit-headers';
import { upstreamRequest } from '../http/upstream-request';
import { modelIds, publicModelId } from '../models/model-id';
import { ChatAssembler, completionAsChunk, type DeltaFields, mapUsage, type WireChunk } from './assembler';
import { AttemptFailure, badEventFailure, brokenStreamFailure, httpFailure, networkFailure, streamErrorFailure } from './attempt-failure';
import { computeCost } from './cost';
import { wireHeaders, wireRequest } from './request';
import { DEFAULT_MAX_DELAY_MS, DEFAULT_MAX_RETRY_AFTER_MS, type RetrySettings, retryDelayMs } from './retry';
import { type SseItem, SseDecoder } from './sse';
import { parseJsonOrUndefined } from '../../util/json';

export interface ChatRun {
  params: ChatParams;
  /** Names the stream in deltas and the result. */
  streamId: string;
  /** Aborting it aborts the upstream request at once; the call then fails with CallCancelled (and what it had so far). */
  signal: AbortSignal;
  /**
   * Receives each delta (seq from 0, no gaps). A promise it returns is awaited before the next
   * delta and before more of the upstream body is read: a slow consumer slows the upstream down
   * instead of filling memory. Returning nothing says it has room, and costs no wait at all.
   */
  onDelta?: (delta: ChatDelta) => Promise<void> | void;
  /**
   * Asked after the deltas of each read of the upstream body: a promise pauses the reading until it
   * resolves (a rejection ends the call with its error). For a consumer that queues deltas without
   * waiting: what it holds stays bounded by one read per stream.
   */
  outputRoom?: () => Promise<void> | undefined;
}

/** The fields chunk() copies into a delta: adding one to DeltaFields breaks the build here until it is copied too. */
const DELTA_FIELDS = { content: true, reasoning: true, toolCalls: true } satisfies Record<keyof DeltaFields, true>;
void DELTA_FIELDS;

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
export async function runChat(chutes: ChutesContext, run: ChatRun): Promise<ChatResult> {
  return new ChatCall(chutes, run).run();
}

class ChatCall {
  private readonly config: ResolvedConfig;
  private readonly signal: AbortSignal;
  private readonly url: string;
  private readonly payload: string;
  private readonly upstreamModel: string;
  /** The plain model ids the model param names (more than one for a failover list). */
  private readonly ids: string[];
  private readonly teeOnly: boolean;
  private readonly retry: RetrySettings;
  private asm = new ChatAssembler();
  private seq = 0;
  private attempts = 0;
  private retries = 0;
  private refreshed = false;
  private rateLimit: RateLimit | undefined;
  /** The first line of the current attempt's body that was not SSE, if any. */
  private strayLine: string | undefined;
  private readonly models = new Map<string, Promise<Model | undefined>>();

  constructor(
    private readonly chutes: ChutesContext,
    private readonly chat: ChatRun,
  ) {
    const config = chutes.requireConfig();
    const { body, upstreamModel } = wireRequest(chat.params, config);
    this.config = config;
    this.signal = chat.signal;
    this.url = `${config.baseUrl}/chat/completions`;
    this.payload = JSON.stringify(body);
    this.upstreamModel = upstreamModel;
    this.ids = modelIds(upstreamModel);
    this.teeOnly = chat.params.teeOnly ?? config.teeOnly;
    this.retry = {
      maxRetries: config.maxRetries,
      baseDelayMs: config.retryBaseDelayMs,
      maxDelayMs: DEFAULT_MAX_DELAY_MS,
      maxRetryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS,
    };
  }

  async run(): Promise<ChatResult> {
    await this.refuseNonTee();
    this.throwIfCancelled();
    let credential = await this.resolveCredential();
    // Prices are needed only for the cost at the end: fetched while the model generates.
    if (this.ids[0]) void this.model(this.ids[0]);
    for (;;) {
      this.attempts++;
      try {
        await this.attempt(credential);
        return await this.result();
      } catch (err) {
        credential = await this.afterFailure(this.failureOf(err), credential);
      }
    }
  }

  /**
   * With X-TEE-Only the server refuses non-TEE models itself (426); a model the metadata knows is
   * not TEE is refused here, before anything is sent.
   */
  private async refuseNonTee(): Promise<void> {
    if (!this.teeOnly) return;
    for (const id of this.ids) {
      if ((await this.model(id))?.tee !== false) continue;
      throw new ChutesError('tee_required', {
        message: `teeOnly is set and ${publicModelId(id)} does not run in a TEE (confidential compute); the request was not sent`,
      });
    }
  }

  private async resolveCredential(): Promise<Credential> {
    const { profile } = this.chat.params;
    const credential = await this.chutes.credentials.resolve(
      profile !== undefined ? { profile, signal: this.signal } : { signal: this.signal },
    );
    this.throwIfCancelled();
    if (credential) return credential;
    throw new ChutesError('auth_required', {
      message: profile !== undefined ? `No Chutes credential is stored for profile "${profile}"` : 'No Chutes credential is configured',
    });
  }

  /** One HTTP exchange; returns when the stream completed, throws an AttemptFailure when it did not. */
  private async attempt(credential: Credential): Promise<void> {
    const { config } = this;
    this.chutes.log.debug(`chat ${this.chat.streamId}: POST ${this.url} model=${this.upstreamModel} attempt ${this.attempts}`);
    const headers = wireHeaders({
      token: credential.token,
      config,
      upstreamModel: this.upstreamModel,
      teeOnly: this.teeOnly,
      thinking: this.chat.params.thinking === true,
      userAgent: `chutes-rpc/${VERSION}`,
    });
    const res = await upstreamRequest(this.chutes, {
      method: 'POST',
      url: this.url,
      headers,
      body: this.payload,
      signal: this.signal,
      timeouts: { headersMs: config.timeoutMs, idleMs: config.timeoutMs },
    });
    if (res.status < 200 || res.status >= 300) throw httpFailure(res.status, res.headers, await res.text(MAX_ERROR_BODY_BYTES, 'truncate'));
    this.rateLimit = parseRateLimit(res.headers) ?? this.rateLimit;
    const type = String(res.headers['content-type'] ?? '');
    if (!type.includes('event-stream') && type.includes('json')) await this.readCompletion(res.body);
    else await this.readStream(res.body);
  }

  /** What went wrong in an attempt, as an AttemptFailure; a cancellation, or anything that is no upstream failure (the host's output closing), ends the call. */
  private failureOf(err: unknown): AttemptFailure {
    if (this.signal.aborted) throw this.cancelled();
    if (err instanceof AttemptFailure) return err;
    if (err instanceof ChutesError && err.type === 'network_error') return networkFailure(err);
    throw err;
  }

  /** After a failed attempt: the credential to try again with (after a wait), or the error the call ends with. */
  private async afterFailure(failure: AttemptFailure, credential: Credential): Promise<Credential> {
    if (failure.error.data.httpStatus === 401 && !this.refreshed) {
      // An OAuth token may have expired: refreshed once, then tried again with the new one.
      this.refreshed = true;
      const next = await this.chutes.credentials.afterUnauthorized(credential, this.signal).catch((err: Error) => {
        this.chutes.log.debug(`credential refresh failed: ${err.message}`);
        return undefined;
      });
      this.throwIfCancelled();
      if (next) return next;
    }
    // Never after a delta reached the host: the retry would send its text again.
    const allowed = failure.retryable && this.asm.deltas === 0 && this.retries < this.retry.maxRetries;
    const wait = allowed ? retryDelayMs(this.retries + 1, failure.serverWaitMs, this.retry) : undefined;
    if (wait === undefined) throw this.finalError(failure.error);
    this.retries++;
    this.chutes.log.info(
      `chat ${this.chat.streamId}: ${failure.error.message}; retry ${this.retries} of ${this.retry.maxRetries} in ${wait} ms`,
    );
    this.asm = new ChatAssembler();
    this.strayLine = undefined;
    await sleep(wait, this.signal).catch(() => {
      throw this.cancelled();
    });
    return credential;
  }

  /**
   * Reads the event stream, sending a delta for each chunk that carries one. Each piece of the
   * body is decoded and its items handled inside the read callback, in one batch per read; a delta
   * the consumer asks to wait for, or a full output after the batch, pauses the reading.
   */
  private async readStream(body: UpstreamBody): Promise<void> {
    const decoder = new SseDecoder();
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const handle = (items: readonly SseItem[]): void | Promise<void> => {
      if (done || items.length === 0) return; // After [DONE]: only waiting for the response to end.
      const handled = this.handleAll(items, 0);
      if (typeof handled !== 'boolean') return handled.then((d) => (d ? afterDone() : this.chat.outputRoom?.()));
      if (handled) return afterDone();
      return this.chat.outputRoom?.();
    };
    // The response should end right after; a server that keeps it open loses the socket.
    const afterDone = () => {
      done = true;
      timer = setTimeout(() => body.destroy(), AFTER_DONE_MS);
    };
    try {
      await body.consume((bytes) => handle(this.decoded(() => decoder.push(bytes))));
      await handle(this.decoded(() => decoder.end()));
    } catch (err) {
      if (done) return;
      if (err instanceof BodyReadError && !this.signal.aborted) throw brokenStreamFailure(err.cause, this.asm.deltas, this.strayLine);
      throw err;
    } finally {
      clearTimeout(timer);
    }
    if (!done) throw brokenStreamFailure(undefined, this.asm.deltas, this.strayLine);
  }

  /** The items a piece of the body completed; an oversized event fails the attempt. */
  private decoded(decode: () => SseItem[]): SseItem[] {
    try {
      return decode();
    } catch (err) {
      throw brokenStreamFailure(err, this.asm.deltas, this.strayLine);
    }
  }

  /** A server that answered the stream with one JSON completion. */
  private async readCompletion(body: UpstreamBody): Promise<void> {
    let value: Record<string, unknown> | null;
    try {
      value = JSON.parse(await readCappedText(body, MAX_JSON_BODY_BYTES, 'truncate')) as Record<string, unknown> | null;
    } catch (err) {
      if (this.signal.aborted) throw err;
      throw brokenStreamFailure(err, this.asm.deltas, this.strayLine);
    }
    if (value && typeof value === 'object' && (value.error !== undefined || value.detail !== undefined)) throw streamErrorFailure(value);
    await this.chunk(completionAsChunk(value ?? {}));
  }

  /**
   * Handles items from `from` on until one is [DONE] (true); the rest of the batch after it is
   * ignored. Synchronous while the host keeps up: only a delta the output must wait for is awaited.
   */
  private handleAll(items: readonly SseItem[], from: number): boolean | Promise<boolean> {
    // Cancelled while a delta was being written: not one more goes out. (Only a wait lets a
    // cancellation in: the loop below runs in one go until it has to wait.)
    if (this.signal.aborted) throw this.signal.reason;
    for (let i = from; i < items.length; i++) {
      const handled = this.handle(items[i]!);
      if (handled === true) return true;
      if (handled) return handled.then(() => this.handleAll(items, i + 1));
    }
    return false;
  }

  /** One SSE item: true at [DONE], a promise while its delta waits for the output; an error the upstream reports throws its AttemptFailure. */
  private handle(item: SseItem): boolean | Promise<void> {
    if (item.kind === 'raw') {
      this.rawLine(item.line);
      return false;
    }
    const data = item.data;
    if (data === '[DONE]') return true;
    if (data.trim() === '') return false;
    const value = parseJsonOrUndefined(data);
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw badEventFailure(data);
    const chunk = value as WireChunk;
    if (item.event === 'error' || (chunk.error !== undefined && chunk.error !== null))
      throw streamErrorFailure(chunk as Record<string, unknown>);
    return this.chunk(chunk) ?? false;
  }

  /** A line that is no SSE field: Chutes writes an error after output started as raw JSON, with no data: prefix. */
  private rawLine(raw: string): void {
    const line = raw.trim();
    if (line === '') return;
    const value = parseJsonOrUndefined(line);
    if (value && typeof value === 'object' && ('error' in value || 'detail' in value)) throw streamErrorFailure(value);
    this.chutes.log.debug(`chat ${this.chat.streamId}: ignoring a line that is not SSE: ${line.slice(0, 200)}`);
    this.strayLine ??= line.slice(0, 200);
  }

  /** Adds a chunk; a promise when the consumer of its delta asks to be waited for. */
  private chunk(chunk: WireChunk): Promise<void> | void {
    const fields = this.asm.add(chunk);
    if (!fields) return;
    const seq = this.seq++;
    if (!this.chat.onDelta) return;
    // Field by field (DELTA_FIELDS lists them): cheaper than a spread, and this runs for every delta.
    const delta: ChatDelta = { streamId: this.chat.streamId, seq };
    if (fields.content !== undefined) delta.content = fields.content;
    if (fields.reasoning !== undefined) delta.reasoning = fields.reasoning;
    if (fields.toolCalls !== undefined) delta.toolCalls = fields.toolCalls;
    return this.chat.onDelta(delta);
  }

  /** The error the call ends with: attempts made, and the partial message once output started. */
  private finalError(error: ChutesError): ChutesError {
    const { type, ...data } = error.data;
    const init: ChutesErrorInit = { ...data, attempts: this.attempts };
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
      p = this.chutes.models.lookup(id, { signal: this.signal }).catch((err: Error) => {
        this.chutes.log.debug(`no metadata for ${id}: ${err?.message ?? String(err)}`);
        return undefined;
      });
      this.models.set(id, p);
    }
    return p;
  }

  private async result(): Promise<ChatResult> {
    const served = this.asm.servedModel ?? this.ids[0] ?? this.upstreamModel;
    const reported = mapUsage(this.asm.usage);
    const result: ChatResult = {
      streamId: this.chat.streamId,
      model: publicModelId(served),
      message: this.asm.message(),
      finishReason: this.asm.finishReason,
      usage: reported ?? { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
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
