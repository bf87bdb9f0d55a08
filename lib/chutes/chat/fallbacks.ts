import type { ResolvedConfig } from '../../config/load';
import { errorCodes } from '../../generated/errors';
import type { ChatParams, ChatResult, ChatStatus, FallbackReason } from '../../generated/types';
import type { ChutesContext } from '../context';
import { CallCancelled, ChutesError, type ChutesErrorInit, type ProviderErrorType } from '../errors';
import { modelIds, publicModelId, routingSelector, upstreamModel } from '../models/model-id';
import { accountKey, ExhaustionMarks } from './exhaustion-marks';
import { ChatParamsRefused } from './params-refused';

/**
 * What a model failed with that another model may not: payment (quota, balance, subscription),
 * an unknown model, a rate limit the retries could not outlast (the daily limit, retryable false,
 * a wait past the retry budget, or retries spent), a 503 after warm-up and retries, and a model
 * that teeOnly or attestation refused. Never a bad request, a credential problem or a network
 * failure: another model would fail the same way.
 */
const FALLBACK_TYPES: ReadonlySet<ProviderErrorType> = new Set([
  'payment_required',
  'model_not_found',
  'rate_limited',
  'model_unavailable',
  'tee_required',
]);

/** Whether the next model is tried after `error`: only for the types above, and only while nothing of an answer was produced. */
export function fallsBack(error: ChutesError): boolean {
  return FALLBACK_TYPES.has(error.type) && error.data.partial === undefined;
}

/** One model of a call's chain. */
export interface ChainEntry {
  /** chutes/<id> of each model it names, without routing suffixes: what results, reasons and marks call it. */
  name: string;
  /** How the result's requestedModel names it (routing suffix included). */
  requested: string;
  /** The params to call it with. */
  params: ChatParams;
}

function entryFor(selector: string, params: ChatParams): ChainEntry {
  return {
    name: modelIds(selector).map(publicModelId).join(','),
    requested: selector.split(',').map(publicModelId).join(','),
    params,
  };
}

/**
 * The models a call tries, in order: the one the params name (else the default), then the call's
 * fallbacks, else the config's (agents.defaults.model.fallbacks). A model already in the chain is
 * not tried twice. A per-call entry that is no valid selector refuses the call; a config entry is
 * left out with a warning.
 */
export function modelChain(
  params: ChatParams,
  config: Pick<ResolvedConfig, 'defaultModel' | 'fallbacks'>,
  warn: (message: string) => void,
): ChainEntry[] {
  let primary: ChainEntry;
  try {
    primary = entryFor(params.model === undefined ? upstreamModel(config.defaultModel) : routingSelector(params.model), params);
  } catch {
    // The call itself refuses the model, with its reason.
    return [{ name: String(params.model), requested: String(params.model), params }];
  }
  const chain = [primary];
  const seen = new Set([primary.name]);
  const perCall = params.fallbacks !== undefined;
  (params.fallbacks ?? config.fallbacks).forEach((model, i) => {
    let selector: string;
    try {
      selector = routingSelector(model);
    } catch (err) {
      const problem = `fallbacks: ${(err as Error).message}`;
      if (perCall) throw new ChatParamsRefused(`/fallbacks/${i}`, problem);
      warn(`agents.defaults.model.${problem}; that entry is left out`);
      return;
    }
    const entry = entryFor(selector, { ...params, model: selector });
    if (seen.has(entry.name)) return;
    seen.add(entry.name);
    chain.push(entry);
  });
  return chain;
}

interface Passed {
  entry: ChainEntry;
  error: ChutesError;
  /** Not asked: an exhaustion mark stopped it. */
  skipped: boolean;
}

export interface FallbackRun {
  params: ChatParams;
  streamId: string;
  signal: AbortSignal;
  onStatus?: (status: ChatStatus) => Promise<void> | void;
}

/**
 * Runs a chat call down its model chain (modelChain): each model is called with `callModel` (its
 * own retries and warm-up included); when it fails in a way another model may not (fallsBack)
 * before anything was produced, a chat.status `fallback` is sent and the next model is tried.
 * Models an exhaustion mark stops are passed over without a request. The result names the model
 * that answered (`model`), keeps the one asked for (`requestedModel`), and lists the models passed
 * over (`fallbackReasons`). When every model failed, the call ends with the first model's error
 * (what the host asked for), with every model's reason in `data.fallbackReasons`; when one fails
 * in a way that ends the chain (a bad request, a broken stream after output), with that error.
 */
export function runWithFallbacks(
  chutes: ChutesContext,
  run: FallbackRun,
  callModel: (params: ChatParams) => Promise<ChatResult>,
): Promise<ChatResult> {
  let chain: ChainEntry[];
  try {
    chain = modelChain(run.params, chutes.requireConfig(), (m) => chutes.log.warn(`chat ${run.streamId}: ${m}`));
  } catch (err) {
    return Promise.reject(err);
  }
  return new ChainRun(chutes, run, callModel, chain).from(0);
}

/**
 * A call going down its model chain. Each model's call is chained to what follows it (the answer,
 * or the next model) instead of awaited: no frame stays suspended while a model streams its answer.
 */
class ChainRun {
  private readonly marks: ExhaustionMarks;
  private readonly passed: Passed[] = [];
  /** Requests made by the models passed over. */
  private attempts = 0;
  private account: Promise<string> | undefined;

  constructor(
    private readonly chutes: ChutesContext,
    private readonly run: FallbackRun,
    private readonly callModel: (params: ChatParams) => Promise<ChatResult>,
    private readonly chain: ChainEntry[],
  ) {
    this.marks = chutes.exhaustion;
  }

  /** Tries the models from the `i`th on. */
  async from(i: number): Promise<ChatResult> {
    const { chain, marks, passed, run } = this;
    for (; i < chain.length; i++) {
      const entry = chain[i]!;
      if (i > 0) await announce(this.chutes, run, passed.at(-1)!, entry, i, chain.length - 1);
      if (run.signal.aborted) throw new CallCancelled({ role: 'assistant', content: '' }, this.attempts || undefined);
      const mark =
        marks.size > 0 ? await marks.find(await this.accountOf(), entry.name, () => isFree(this.chutes, entry, run.signal)) : undefined;
      if (mark) {
        passed.push({ entry, error: marks.errorFor(entry.name, mark), skipped: true });
        continue;
      }
      return this.callModel(entry.params).then(
        (result) => (i === 0 ? result : answered(result, chain[0]!, passed, this.attempts)),
        (err: unknown) => this.failed(err, entry, i),
      );
    }
    const first = passed[0]!.error;
    if (chain.length === 1) throw first;
    const others = passed.slice(1).map((p) => p.entry.name);
    throw withReasons(first, passed, this.attempts, ` (the fallback${others.length === 1 ? '' : 's'} ${others.join(', ')} failed too)`);
  }

  /** The `i`th model failed with `err`: the call ends with it, or goes on with the next model. */
  private async failed(err: unknown, entry: ChainEntry, i: number): Promise<ChatResult> {
    const { attempts } = this;
    if (err instanceof CallCancelled) throw attempts > 0 ? new CallCancelled(err.partial, (err.attempts ?? 0) + attempts) : err;
    if (!(err instanceof ChutesError)) throw err;
    this.attempts += err.data.attempts ?? 0;
    if (ExhaustionMarks.marks(err)) this.marks.record(await this.accountOf(), entry.name, err);
    if (!fallsBack(err)) throw this.passed.length > 0 ? withReasons(err, this.passed, this.attempts) : err;
    this.passed.push({ entry, error: err, skipped: false });
    return this.from(i + 1);
  }

  private accountOf(): Promise<string> {
    return (this.account ??= resolveAccount(this.chutes, this.run));
  }
}

/** A chat.status before a fallback: which model is tried next, and why the one before it was passed over. */
async function announce(chutes: ChutesContext, run: FallbackRun, before: Passed, next: ChainEntry, n: number, of: number): Promise<void> {
  const { error } = before;
  const why = before.skipped
    ? `${before.entry.name} is exhausted until ${error.data.resetAt}${error.data.reason ? ` (${error.data.reason})` : ''}`
    : `${before.entry.name} failed: ${error.message}`;
  const message = `${why}; trying ${next.name} (fallback ${n} of ${of})`;
  chutes.log.info(`chat ${run.streamId}: ${message}`);
  await run.onStatus?.({ streamId: run.streamId, phase: 'fallback', message, model: next.name, reason: error.type });
}

function reasonOf({ entry, error, skipped }: Passed): FallbackReason {
  const { type, httpStatus, reason, resetAt } = error.data;
  const out: FallbackReason = { model: entry.name, type, code: errorCodes[type], message: error.message };
  if (httpStatus !== undefined) out.httpStatus = httpStatus;
  if (reason !== undefined) out.reason = reason;
  if (resetAt !== undefined) out.resetAt = resetAt;
  if (skipped) out.skipped = true;
  return out;
}

function answered(result: ChatResult, primary: ChainEntry, passed: Passed[], attemptsBefore: number): ChatResult {
  return {
    ...result,
    requestedModel: primary.requested,
    attempts: result.attempts + attemptsBefore,
    fallbackReasons: passed.map(reasonOf),
  };
}

/** The error the call ends with, carrying the reasons of the models passed over and the requests made in all. */
function withReasons(error: ChutesError, passed: Passed[], attempts: number, addToMessage = ''): ChutesError {
  const { type, attempts: _own, ...data } = error.data;
  const init: ChutesErrorInit = { ...data, message: data.message + addToMessage, fallbackReasons: passed.map(reasonOf) };
  if (attempts > 0) init.attempts = attempts;
  return new ChutesError(type, init);
}

/** Whose marks apply: the credential the call would use, looked up without refreshing anything. */
async function resolveAccount(chutes: ChutesContext, run: FallbackRun): Promise<string> {
  const { profile } = run.params;
  const credential = await chutes.credentials
    .resolve({ ...(profile !== undefined ? { profile } : {}), signal: run.signal, refresh: false })
    .catch(() => undefined);
  return accountKey(credential);
}

/** Whether every model the entry names is known to be free (priced 0): the daily free-model limit applies to those. */
async function isFree(chutes: ChutesContext, entry: ChainEntry, signal: AbortSignal): Promise<boolean> {
  const ids = modelIds(upstreamModel(entry.name));
  for (const id of ids) {
    const model = await chutes.models.lookup(id, { signal }).catch(() => undefined);
    if (model?.pricing.input !== 0 || model.pricing.output !== 0) return false;
  }
  return ids.length > 0;
}
