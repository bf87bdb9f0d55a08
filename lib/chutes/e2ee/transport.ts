import { Readable } from 'node:stream';
import { AttemptFailure } from '../chat/attempt-failure';
import type { ChutesContext } from '../context';
import type { Credential } from '../credentials';
import { ChutesError } from '../errors';
import type { ResponseBody } from '../http/body';
import { BodyTooLarge, readCappedText } from '../http/body';
import { bodyOfStream } from '../http/upstream-body';
import { upstreamRequest, type UpstreamResponse, type UpstreamTimeouts } from '../http/upstream-request';
import { publicModelId } from '../models/model-id';
import { filterVerified } from './attestation-filter';
import { e2eeApiBase, e2eeSelectorProblem, resolveChuteId } from './chute-target';
import { decryptStream } from './decrypt-stream';
import { discoverInstances, NoE2eeInstance } from './discovery';
import { E2eeFault } from './e2ee-fault';
import { invokeFailure, faultFailure, isNonceRefusal } from './invoke-failure';
import type { E2eeMode } from './mode';
import { NoncePool, type PinnedNonce } from './nonce-pool';
import { openResponse, responseBlob } from './sealed-response';
import { sealRequest } from './sealed-request';
import type { AttestationBinding } from './verified-keys';

/** The public API path the instance serves the request on. */
const CHAT_PATH = '/v1/chat/completions';
/** A non-stream encrypted answer is read whole, up to this size (gzip inside is capped separately). */
const MAX_BLOB_BYTES = 64 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const JSON_TYPE = 'application/json';
const SSE_TYPE = 'text/event-stream';
/** Cassette headers that carry what result.e2ee says through a replay. */
const INSTANCE_HEADER = 'x-e2e-instance-id';
const ATTESTED_HEADER = 'x-e2e-attested';

/** What result.e2ee reports about the instance that answered. */
export interface E2eeOutcome {
  chuteId: string;
  instanceId: string;
  attested: boolean;
  /** The usage came from the relay's plaintext usage event: the encrypted stream carried none. */
  unauthenticatedUsage?: true;
}

export interface E2eeStart {
  mode: E2eeMode;
  upstreamModel: string;
  credential: Credential;
  signal: AbortSignal;
  binding?: AttestationBinding;
}

const pools = new WeakMap<ChutesContext, NoncePool>();

/** The nonce pool of a process (one per context, shared by every call); `now` is for tests with a fake clock. */
export function noncePoolOf(ctx: ChutesContext, now?: () => number): NoncePool {
  let pool = pools.get(ctx);
  if (!pool) {
    pool = new NoncePool(now);
    pools.set(ctx, pool);
  }
  return pool;
}

/**
 * Starts E2EE for a chat call: the transport, or the reason the call goes in plaintext (`prefer`
 * only, and only when the model has no E2E-capable instance). Resolving the chute and taking the
 * first nonce happen here, so that `require` refuses before anything is sent.
 */
export async function startE2ee(ctx: ChutesContext, start: E2eeStart): Promise<E2eeTransport | { plaintextBecause: string }> {
  const problem = e2eeSelectorProblem(start.upstreamModel);
  if (problem) throw new ChutesError('bad_request', { message: problem });
  if (ctx.settings.replay) return new E2eeTransport(ctx, start, '');
  const chuteId = await resolveChuteId(ctx, start.upstreamModel, start.signal);
  const transport = new E2eeTransport(ctx, start, chuteId);
  try {
    await transport.prepare();
  } catch (err) {
    if (!(err instanceof NoE2eeInstance)) throw err;
    if (start.mode === 'prefer') {
      ctx.log.info(`e2ee: ${err.message}; e2ee is prefer, so the call goes in plaintext`);
      return { plaintextBecause: err.message };
    }
    throw new ChutesError('model_unavailable', {
      message: `${err.message}; e2ee is require, so nothing was sent`,
      retryable: false,
      resolution: `Try later or another model, or set e2ee to prefer (plaintext when ${publicModelId(start.upstreamModel)} cannot encrypt) or off.`,
    });
  }
  return transport;
}

/**
 * How one chat call reaches its model with end-to-end encryption: each attempt takes a nonce (pinned
 * to its instance), seals the body to that instance's key, POSTs /e2e/invoke, and hands back an
 * answer whose body is the plaintext the plain path would have received (SSE bytes, or a JSON
 * completion), so the chat call decodes and assembles it exactly as it does a plain one.
 */
export class E2eeTransport {
  private pending: PinnedNonce | undefined;
  private answered: PinnedNonce | undefined;
  private replayOutcome: { instanceId: string; attested: boolean } | undefined;
  private readonly apiBase: string;
  private readonly pool: NoncePool;
  /** The last plaintext usage event of the attempt that answered. */
  plaintextUsage: Record<string, unknown> | undefined;

  constructor(
    private readonly ctx: ChutesContext,
    private readonly start: E2eeStart,
    readonly chuteId: string,
  ) {
    this.apiBase = e2eeApiBase(ctx.requireConfig().baseUrl);
    this.pool = noncePoolOf(ctx);
  }

  /** Takes the first nonce: discovery (when the pool is dry) and the attestation filter run now. */
  async prepare(): Promise<void> {
    this.pending = await this.takeNonce(this.start.credential);
  }

  /** What result.e2ee says, once an attempt was answered. */
  outcome(usedPlaintextUsage: boolean): E2eeOutcome | undefined {
    const answered = this.answered ?? (this.replayOutcome && { ...this.replayOutcome, chuteId: this.chuteId });
    if (!answered) return undefined;
    const outcome: E2eeOutcome = { chuteId: answered.chuteId, instanceId: answered.instanceId, attested: answered.attested };
    if (usedPlaintextUsage) outcome.unauthenticatedUsage = true;
    return outcome;
  }

  /**
   * One attempt. `headers` are the plain path's (credential, configured headers, thinking); the
   * E2EE ones are added. A 403 nonce refusal drops the pool and tries once more with a fresh nonce
   * (the API spends a nonce before it checks anything else). Failures are AttemptFailures, so the
   * chat call's retry rules apply unchanged.
   */
  async send(
    payload: Record<string, unknown>,
    credential: Credential,
    headers: Record<string, string>,
    timeouts: UpstreamTimeouts,
  ): Promise<UpstreamResponse> {
    if (this.ctx.settings.replay) return this.replay(payload, headers, timeouts);
    const stream = payload.stream === true;
    for (let nonceRetry = false; ; nonceRetry = true) {
      const pinned = this.pending ?? (await this.takeNonce(credential));
      this.pending = undefined;
      const { blob, responseSecretKey } = sealRequest(payload, pinned.publicKey);
      this.ctx.log.debug(`e2ee: POST ${this.apiBase}/e2e/invoke chute=${pinned.chuteId} instance=${pinned.instanceId} stream=${stream}`);
      const res = await upstreamRequest(this.ctx, {
        method: 'POST',
        url: `${this.apiBase}/e2e/invoke`,
        headers: {
          ...headers,
          'content-type': 'application/octet-stream',
          accept: stream ? SSE_TYPE : 'application/octet-stream',
          'x-chute-id': pinned.chuteId,
          'x-instance-id': pinned.instanceId,
          'x-e2e-nonce': pinned.nonce,
          'x-e2e-stream': String(stream),
          'x-e2e-path': CHAT_PATH,
        },
        body: blob,
        signal: this.start.signal,
        timeouts,
      });
      if (res.status !== 200) {
        const text = await res.text(MAX_ERROR_BODY_BYTES, 'truncate');
        if (isNonceRefusal(res.status, text)) {
          this.pool.drop(pinned.chuteId);
          this.ctx.log.info(`e2ee: the API refused a nonce of chute ${pinned.chuteId}${nonceRetry ? '' : '; discovering again'}`);
          if (!nonceRetry) continue;
        }
        const { failure, dropInstance } = invokeFailure(res.status, res.headers, text);
        if (dropInstance) this.pool.dropInstance(pinned.chuteId, pinned.instanceId);
        throw failure;
      }
      this.answered = pinned;
      this.plaintextUsage = undefined;
      return String(res.headers['content-type'] ?? '').includes(SSE_TYPE)
        ? this.streamAnswer(res, responseSecretKey, payload)
        : await this.blobAnswer(res, responseSecretKey, payload);
    }
  }

  private async takeNonce(credential: Credential): Promise<PinnedNonce> {
    const { ctx, chuteId, start } = this;
    const discover = async () => {
      const found = await discoverInstances(ctx, { apiBase: this.apiBase, chuteId, credential });
      return filterVerified(found, chuteId, start.binding);
    };
    // The discovery is shared by concurrent calls, so it is not tied to this call's signal; this call stops waiting when cancelled.
    return raceAbort(this.pool.take(chuteId, discover), start.signal);
  }

  private streamAnswer(res: UpstreamResponse, responseSecretKey: Uint8Array, payload: Record<string, unknown>): UpstreamResponse {
    const plaintext = decryptStream(res.body, responseSecretKey, { onPlaintextUsage: (u) => (this.plaintextUsage = u) });
    const headers = { ...res.headers, 'content-type': SSE_TYPE };
    return answer(
      headers,
      this.recorded(payload, headers, plaintext, () => res.body.destroy()),
    );
  }

  private async blobAnswer(
    res: UpstreamResponse,
    responseSecretKey: Uint8Array,
    payload: Record<string, unknown>,
  ): Promise<UpstreamResponse> {
    let json: Buffer;
    try {
      const parts: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BLOB_BYTES) throw new BodyTooLarge(MAX_BLOB_BYTES);
        parts.push(chunk);
      }
      json = openResponse(responseBlob(Buffer.concat(parts)), responseSecretKey);
    } catch (err) {
      res.body.destroy();
      if (this.start.signal.aborted) throw this.start.signal.reason;
      if (err instanceof ChutesError || err instanceof AttemptFailure) throw err;
      throw faultFailure(new E2eeFault(`the encrypted answer cannot be opened: ${(err as Error).message}`, { cause: err }));
    }
    const headers = { ...res.headers, 'content-type': JSON_TYPE };
    return answer(
      headers,
      this.recorded(payload, headers, oneChunk(json), () => undefined),
    );
  }

  /** With --record, a copy of the plaintext goes to the cassette once the answer is complete. */
  private recorded(
    payload: Record<string, unknown>,
    headers: Record<string, string | string[] | undefined>,
    plaintext: AsyncGenerator<Buffer>,
    destroy: () => void,
  ): Readable {
    const { ctx } = this;
    const answered = this.answered;
    const url = `${this.apiBase}/e2e/invoke`;
    async function* copy(): AsyncGenerator<Buffer> {
      const seen: Buffer[] = [];
      try {
        for await (const chunk of plaintext) {
          if (ctx.settings.record) seen.push(chunk);
          yield chunk;
        }
      } finally {
        destroy();
      }
      if (!ctx.settings.record || !answered) return;
      const { recordPlaintextExchange } = require('../cassette/record') as typeof import('../cassette/record');
      recordPlaintextExchange(ctx.http, {
        url,
        requestBody: payload,
        status: 200,
        headers: {
          'content-type': String(headers['content-type']),
          [INSTANCE_HEADER]: answered.instanceId,
          [ATTESTED_HEADER]: String(answered.attested),
        },
        bodyText: Buffer.concat(seen).toString('utf8'),
      });
    }
    return Readable.from(copy(), { objectMode: false });
  }

  /** --replay: the cassette holds the plaintext exchange (see docs/e2ee.md); nothing is encrypted and nothing reaches a network. */
  private async replay(
    payload: Record<string, unknown>,
    headers: Record<string, string>,
    timeouts: UpstreamTimeouts,
  ): Promise<UpstreamResponse> {
    const res = await upstreamRequest(this.ctx, {
      method: 'POST',
      url: `${this.apiBase}/e2e/invoke`,
      headers: { ...headers, 'content-type': JSON_TYPE },
      body: JSON.stringify(payload),
      signal: this.start.signal,
      timeouts,
    });
    if (res.status !== 200) throw invokeFailure(res.status, res.headers, await res.text(MAX_ERROR_BODY_BYTES, 'truncate')).failure;
    const instanceId = res.headers[INSTANCE_HEADER];
    this.replayOutcome = {
      instanceId: typeof instanceId === 'string' ? instanceId : 'replay',
      attested: res.headers[ATTESTED_HEADER] === 'true',
    };
    return res;
  }
}

/** An UpstreamResponse around a plaintext body. */
function answer(headers: Record<string, string | string[] | undefined>, body: Readable): UpstreamResponse {
  const typed: ResponseBody = bodyOfStream(body);
  return {
    status: 200,
    headers,
    body: typed,
    text: (maxBytes, overflow) => readCappedText(typed, maxBytes, overflow),
  };
}

async function* oneChunk(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
