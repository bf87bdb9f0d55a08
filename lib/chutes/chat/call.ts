import type { ResolvedConfig } from '../../config/load';
import type { AttestationSummary, ChatDelta, ChatParams, ChatResult, ChatStatus, Model, RateLimit } from '../../generated/types';
import { sleep } from '../../util/abort';
import type { ChutesContext } from '../context';
import type { Credential } from '../credentials';
import { CallCancelled, ChutesError, type ChutesErrorInit } from '../errors';
import { dropBody, readCappedText } from '../http/body';
import { headerValue } from '../http/headers';
import { parseRateLimit } from '../http/rate-limit-headers';
import { BodyReadError, type UpstreamBody } from '../http/upstream-body';
import { upstreamRequest } from '../http/upstream-request';
import { modelIds, publicModelId } from '../models/model-id';
import { attestChat, e2eeBinding } from '../tee/chat-gate';
import { ChatAssembler, completionAsChunk, type DeltaFields, mapUsage, type WireChunk } from './assembler';
import { AttemptFailure, badEventFailure, brokenStreamFailure, httpFailure, networkFailure, streamErrorFailure } from './attempt-failure';
import { computeCost } from './cost';
import { runWithFallbacks } from './fallbacks';
import { wireHeaders, wireRequest } from './request';
import { isColdChute } from './warmup';
import { DEFAULT_MAX_DELAY_MS, DEFAULT_MAX_RETRY_AFTER_MS, type RetrySettings, retryDelayMs } from './retry';
import { type SseItem, SseDecoder } from './sse';
import { parseJsonOrUndefined } from '../../util/json';
import type { E2eeTransport } from '../e2ee/transport';
import type { PacedSend } from '../pacing/pacer';

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
  /** Receives progress while the call waits for something the host cannot see (a retry back-off, …). */
  onStatus?: (status: ChatStatus) => Promise<void> | void;
}

/** The fields chunk() copies into a delta: adding one to DeltaFields breaks the build here until it is copied too. */
const DELTA_FIELDS = { content: true, reasoning: true, contentIsReasoning: true, toolCalls: true } satisfies Record<
  keyof DeltaFields,
  true
>;
void DELTA_FIELDS;

/** Error bodies are read up to this size; the message keeps far less. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** A whole JSON completion (a server that ignores stream: true) may be this large. */
const MAX_JSON_BODY_BYTES = 32 * 1024 * 1024;
/** After [DONE] the response should end at once; it gets this long before the socket is dropped. */
const AFTER_DONE_MS = 2_000;
/** A retry wait longer than this is logged as a warning (visible by default), not as info. */
const LONG_WAIT_MS = 5_000;

const VERSION: string = (require('../../../package.json') as { version: string }).version;

/**
 * One chat call against POST {baseUrl}/chat/completions with stream: true, shared by chat.stream,
 * chat.complete and the chat command. chat.complete streams upstream too: one code path, the
 * usage chunk Chutes adds to streams, a partial message when cancelled, and a timeout that
 * measures silence rather than the length of the answer. Each model of the call's chain (the
 * one asked for, then its fallbacks) is one ChatCall.
 */
export function runChat(chutes: ChutesContext, run: ChatRun): Promise<ChatResult> {
  return runWithFallbacks(chutes, run, (params) => new ChatCall(chutes, { ...run, params }).run());
}

class ChatCall {
  private readonly config: ResolvedConfig;
  private readonly signal: AbortSignal;
  private readonly url: string;
  /** The request body as JSON (the E2EE transport, which seals the object, parses it again). */
  private readonly payload: string;
  /** Set when e2ee is prefer or require: the transport, or why the call went in plaintext. */
  private e2ee: { transport?: E2eeTransport; plaintextBecause?: string } | undefined;
  private readonly upstreamModel: string;
  /** The plain model ids the model param names (more than one for a failover list). */
  private readonly ids: string[];
  private readonly teeOnly: boolean;
  private readonly warnings: string[];
  /** X-Chutes-InvocationID of the answer that served the call. */
  private invocationId: string | undefined;
  /** The metadata lookup of the first model asked for, warning when it is not listed; awaited before the result. */
  private listed: Promise<void> | undefined;
  /** The served model last checked against teeOnly. */
  private checkedServed: string | undefined;
  private asm = new ChatAssembler();
  private seq = 0;
  private attempts = 0;
  private retries = 0;
  private refreshed = false;
  /** One warm-up per call, when the config or the call asks for it. */
  private warmupAllowed: boolean;
  private rateLimit: RateLimit | undefined;
  /** The first line of the current attempt's body that was not SSE, if any. */
  private strayLine: string | undefined;
  private readonly models = new Map<string, Promise<Model | undefined>>();
  private attestation: AttestationSummary | undefined;

  constructor(
    private readonly chutes: ChutesContext,
    private readonly chat: ChatRun,
  ) {
    const config = chutes.requireConfig();
    const { body, upstreamModel, warnings } = wireRequest(chat.params, config);
    this.warnings = warnings;
    this.config = config;
    this.signal = chat.signal;
    this.url = `${config.baseUrl}/chat/completions`;
    this.payload = JSON.stringify(body);
    this.upstreamModel = upstreamModel;
    this.ids = modelIds(upstreamModel);
    this.teeOnly = chat.params.teeOnly ?? config.teeOnly;
    this.warmupAllowed = chat.params.warmup ?? config.warmup;
  }

  async run(): Promise<ChatResult> {
    for (const w of this.warnings) this.chutes.log.warn(`chat ${this.chat.streamId}: ${w}`);
    this.attestation = await attestChat(this.chutes, this.chat.params, this.ids, this.signal);
    await this.refuseNonTee();
    this.throwIfCancelled();
    const credential = await this.resolveCredential();
    await this.startE2ee(credential);
    return this.attemptWith(credential);
  }

  /**
   * Prices are needed only for the cost at the end: fetched while the model generates, asked once
   * the first chat request is on its way (the upstream should see it first; a paced call's request
   * goes out only after the pacing state's lock).
   */
  private lookUpListing(): void {
    const id = this.ids[0];
    if (id !== undefined && !this.listed) this.listed = this.model(id).then((m) => this.warnIfUnlisted(id, m));
  }

  /**
   * One attempt, then the result, or (after a failure worth another) the next attempt: chained, not
   * awaited in a loop, so that no frame stays suspended while the answer streams.
   */
  private attemptWith(credential: Credential): Promise<ChatResult> {
    this.attempts++;
    return this.attempt(credential).then(
      () => this.result(),
      (err: unknown) => this.afterFailure(this.failureOf(err), credential).then((next) => this.attemptWith(next)),
    );
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

  /**
   * The model list shows only the platform's public chutes: a community chute can be invoked by
   * name all the same, so a name it lacks is sent, with a warning (a typo then gets the server's 404).
   */
  private warnIfUnlisted(id: string, model: Model | undefined): void {
    if (model || this.signal.aborted) return;
    this.chutes.log.warn(
      `chat ${this.chat.streamId}: ${publicModelId(id)} is not in the model list or the catalog; sending it anyway (community chutes are not listed)`,
    );
  }

  /**
   * The server may serve another model than the one asked for (a -TEE variant, a renamed org, a
   * failover entry). With teeOnly, one the metadata knows is not TEE fails the call before any of
   * its text reaches the host.
   */
  private async refuseNonTeeServed(served: string | undefined): Promise<void> {
    if (!this.teeOnly || served === undefined || served === this.checkedServed) return;
    this.checkedServed = served;
    const id = modelIds(served)[0] ?? served;
    if ((await this.model(id))?.tee !== false) return;
    throw new AttemptFailure(
      new ChutesError('tee_required', {
        message: `teeOnly is set, and the server answered with ${publicModelId(id)}, which does not run in a TEE (confidential compute); the stream was stopped`,
      }),
      false,
    );
  }

  /** e2ee prefer/require: resolves the chute and takes the first nonce, so that require refuses before anything is sent. */
  private async startE2ee(credential: Credential): Promise<void> {
    const mode = this.chat.params.e2ee ?? this.config.e2ee;
    if (mode === 'off') return;
    const { startE2ee } = require('../e2ee/transport') as typeof import('../e2ee/transport');
    const binding = e2eeBinding(this.chutes, this.chat.params);
    const started = await startE2ee(this.chutes, {
      mode,
      upstreamModel: this.upstreamModel,
      credential,
      signal: this.signal,
      ...binding,
    }).catch((err: unknown) => {
      if (this.signal.aborted) throw this.cancelled();
      throw err;
    });
    this.e2ee = 'plaintextBecause' in started ? started : { transport: started };
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
    if (!this.e2ee?.transport) this.chutes.connectAhead(this.url);
    this.chutes.log.debug(`chat ${this.chat.streamId}: POST ${this.url} model=${this.upstreamModel} attempt ${this.attempts}`);
    const headers = wireHeaders({
      token: credential.token,
      config,
      upstreamModel: this.upstreamModel,
      teeOnly: this.teeOnly,
      thinking: this.chat.params.thinking === true,
      userAgent: `chutes-rpc/${VERSION}`,
    });
    const timeouts = { headersMs: config.timeoutMs, idleMs: config.timeoutMs };
    // A first call loads undici's Agent (~6 ms) while the pacing state's lock is taken, off this thread.
    const [paced] = await Promise.all([this.pace(credential), this.chutes.loadHttp()]);
    let res: Awaited<ReturnType<typeof upstreamRequest>>;
    try {
      const answer = this.e2ee?.transport
        ? this.e2ee.transport.send(JSON.parse(this.payload) as Record<string, unknown>, credential, headers, timeouts)
        : upstreamRequest(this.chutes, { method: 'POST', url: this.url, headers, body: this.payload, signal: this.signal, timeouts });
      this.lookUpListing();
      res = await answer;
    } finally {
      // Answered (or failed): the server has counted it by now, whenever it arrived.
      void this.chutes.pacer.sent(paced);
    }
    void this.chutes.pacer.observe(credential, this.pacedChute, res.headers);
    if (res.status < 200 || res.status >= 300) throw httpFailure(res.status, res.headers, await res.text(MAX_ERROR_BODY_BYTES, 'truncate'));
    this.rateLimit = parseRateLimit(res.headers) ?? this.rateLimit;
    this.invocationId = headerValue(res.headers, 'x-chutes-invocationid')?.trim().slice(0, 200) || undefined;
    const type = String(res.headers['content-type'] ?? '');
    // Returned, not awaited: this frame is not kept while the body is read.
    return !type.includes('event-stream') && type.includes('json') ? this.readCompletion(res.body) : this.readStream(res.body);
  }

  /** The chute a per-chute limit (X-Chutes-RL-Chute) is kept for: the first model asked for. */
  private get pacedChute(): string {
    return this.ids[0] ?? this.upstreamModel;
  }

  /** Waits, with a pacing status, while the credential's request budget is spent (shared with the home's other processes). */
  private async pace(credential: Credential): Promise<PacedSend | undefined> {
    return this.chutes.pacer
      .pace({
        credential,
        chute: this.pacedChute,
        signal: this.signal,
        onWait: ({ delayMs, limit }) =>
          this.status({
            phase: 'pacing',
            message: `The budget of ${limit} requests a minute is spent; sending in ${delayMs} ms`,
            model: publicModelId(this.upstreamModel),
            attempt: this.attempts,
            delayMs,
          }),
      })
      .catch((err: unknown) => {
        if (this.signal.aborted) throw this.cancelled();
        throw err;
      });
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
    if (this.warmupAllowed && this.asm.deltas === 0 && isColdChute(failure.error)) {
      this.warmupAllowed = false;
      await this.warmUp(failure.error, credential);
      this.asm = new ChatAssembler();
      this.strayLine = undefined;
      return credential;
    }
    // Never after a delta reached the host: the retry would send its text again.
    const retry = this.retrySettings();
    const allowed = failure.retryable && this.asm.deltas === 0 && this.retries < retry.maxRetries;
    const wait = allowed ? retryDelayMs(this.retries + 1, failure.serverWaitMs, retry) : undefined;
    if (wait === undefined) throw this.finalError(failure.error);
    this.retries++;
    // A long wait (a server's Retry-After) is shown to the host, which would otherwise see a silent call.
    this.chutes.log.log(
      wait > LONG_WAIT_MS ? 'warn' : 'info',
      `chat ${this.chat.streamId}: ${failure.error.message}; retry ${this.retries} of ${retry.maxRetries} in ${wait} ms`,
    );
    this.asm = new ChatAssembler();
    this.strayLine = undefined;
    await this.status({
      phase: 'retry',
      message: `${failure.error.message}; retry ${this.retries} of ${retry.maxRetries} in ${wait} ms`,
      model: publicModelId(this.upstreamModel),
      reason: failure.error.type,
      attempt: this.attempts + 1,
      delayMs: wait,
    });
    await sleep(wait, this.signal).catch(() => {
      throw this.cancelled();
    });
    return credential;
  }

  private retrySettings(): RetrySettings {
    return {
      maxRetries: this.config.maxRetries,
      baseDelayMs: this.config.retryBaseDelayMs,
      maxDelayMs: DEFAULT_MAX_DELAY_MS,
      maxRetryAfterMs: DEFAULT_MAX_RETRY_AFTER_MS,
    };
  }

  /** A cold chute: warmed up (with progress) before the one retry; a failed warm-up ends the call with the 503 and why. */
  private async warmUp(cold: ChutesError, credential: Credential): Promise<void> {
    const { warmUp } = require('./warmup') as typeof import('./warmup');
    const chute = this.ids[0] ?? this.upstreamModel;
    try {
      await warmUp(this.chutes, { chute, credential, signal: this.signal, onStatus: (s) => this.status(s) });
    } catch (err) {
      if (this.signal.aborted) throw this.cancelled();
      const { type, ...data } = cold.data;
      const why = err instanceof Error ? err.message : String(err);
      throw this.finalError(new ChutesError(type, { ...data, message: `${data.message} (warm-up failed: ${why})`, retryable: false }));
    }
  }

  private async status(status: Omit<ChatStatus, 'streamId'>): Promise<void> {
    await this.chat.onStatus?.({ streamId: this.chat.streamId, ...status });
  }

  /**
   * Reads the event stream, sending a delta for each chunk that carries one. Each piece of the
   * body is decoded and its items handled inside the read callback, in one batch per read; a delta
   * the consumer asks to wait for, or a full output after the batch, pauses the reading. The call
   * is answered at [DONE]; the rest of the response is read to its end in the background (so the
   * socket can be reused), and dropped if the server keeps it open.
   */
  private readStream(body: UpstreamBody): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const decoder = new SseDecoder();
      let done = false;
      let ended = false;
      let dropTimer: NodeJS.Timeout | undefined;
      const reachedDone = (): void => {
        done = true;
        // The answer is complete: the rest of the response only has to end, or be dropped.
        if (!ended) dropTimer = setTimeout(() => dropBody(body), AFTER_DONE_MS);
        try {
          resolve(this.emit(this.asm.flush()));
        } catch (err) {
          reject(err);
        }
      };
      const handle = (items: readonly SseItem[]): void | Promise<void> => {
        if (done || items.length === 0) return; // After [DONE]: only reading the response to its end.
        const handled = this.handleAll(items, 0);
        if (typeof handled !== 'boolean') return handled.then((d) => (d ? reachedDone() : this.chat.outputRoom?.()));
        if (handled) return reachedDone();
        return this.chat.outputRoom?.();
      };
      // The response ended, or could not be read on: before [DONE], the attempt fails with `failure()`.
      const ending = (failure: () => unknown): void => {
        ended = true;
        clearTimeout(dropTimer);
        if (done) return;
        dropBody(body); // Stops the upstream: nothing more of this response is wanted.
        reject(failure());
      };
      body
        .consume((bytes) => handle(this.decoded(decoder, bytes)))
        .then(() => handle(this.decoded(decoder, undefined)))
        .then(
          () => ending(() => brokenStreamFailure(undefined, this.asm.deltas, this.strayLine)),
          (err: unknown) =>
            ending(() =>
              err instanceof BodyReadError && !this.signal.aborted ? brokenStreamFailure(err.cause, this.asm.deltas, this.strayLine) : err,
            ),
        );
    });
  }

  /** The items a piece of the body completed (`bytes` undefined: its end); an oversized event fails the attempt. */
  private decoded(decoder: SseDecoder, bytes: Uint8Array | undefined): SseItem[] {
    try {
      return bytes ? decoder.push(bytes) : decoder.end();
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
    await this.emit(this.asm.flush());
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

  /** Adds a chunk; a promise when the consumer of its delta (or a check of the served model) asks to be waited for. */
  private chunk(chunk: WireChunk): Promise<void> | void {
    const served = typeof chunk.model === 'string' && chunk.model !== '' ? chunk.model : undefined;
    if (this.teeOnly && served !== undefined && served !== this.checkedServed) {
      return this.refuseNonTeeServed(served).then(() => this.emit(this.asm.add(chunk)));
    }
    return this.emit(this.asm.add(chunk));
  }

  private emit(fields: ReturnType<ChatAssembler['add']>): Promise<void> | void {
    if (!fields) return;
    if (this.asm.chars > this.config.maxAnswerChars) throw this.answerTooLong();
    const seq = this.seq++;
    if (!this.chat.onDelta) return;
    // Field by field (DELTA_FIELDS lists them): cheaper than a spread, and this runs for every delta.
    const delta: ChatDelta = { streamId: this.chat.streamId, seq };
    if (fields.content !== undefined) delta.content = fields.content;
    if (fields.reasoning !== undefined) delta.reasoning = fields.reasoning;
    if (fields.contentIsReasoning !== undefined) delta.contentIsReasoning = fields.contentIsReasoning;
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

  /** An answer past maxAnswerChars: the call ends (the stream is dropped) with what it had. */
  private answerTooLong(): ChutesError {
    return this.finalError(
      new ChutesError('server_error', {
        message: `The answer grew past ${this.config.maxAnswerChars} characters (chutesRpc.maxAnswerChars); the stream was stopped there`,
        resolution: 'Ask for a shorter answer (a lower maxTokens), or raise chutesRpc.maxAnswerChars in the config.',
        retryable: false,
      }),
    );
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
    await this.listed;
    const served = this.asm.servedModel ?? this.ids[0] ?? this.upstreamModel;
    // E2EE: the relay's plaintext usage is unauthenticated; used only when the encrypted stream had none, and said so.
    const plaintextUsage = this.asm.usage ? undefined : (this.e2ee?.transport?.plaintextUsage as WireChunk['usage']);
    const reported = mapUsage(this.asm.usage ?? plaintextUsage ?? undefined);
    const result: ChatResult = {
      streamId: this.chat.streamId,
      model: publicModelId(served),
      requestedModel: this.upstreamModel.split(',').map(publicModelId).join(','),
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
    if (this.invocationId !== undefined) result.invocationId = this.invocationId;
    if (this.rateLimit) result.rateLimit = this.rateLimit;
    if (this.e2ee) {
      result.e2ee = this.e2ee.transport?.outcome(plaintextUsage !== undefined && plaintextUsage !== null) ?? false;
      if (this.e2ee.plaintextBecause !== undefined) result.e2eeReason = this.e2ee.plaintextBecause;
    }
    if (this.attestation) result.attestation = this.attestation;
    return result;
  }
}
