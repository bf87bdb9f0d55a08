import type { ProviderErrorData } from '../../generated/types';
import type { Credential } from '../credentials';
import { ChutesError } from '../errors';
import { sha256Hex } from '../../util/sha256';

/** A mark never outlives this, whatever reset time the service named: a bad timestamp must not block a model for good. */
const MAX_MARK_MS = 24 * 60 * 60 * 1000;

/** What a model answered when it was marked, kept to answer later calls with. */
export interface ExhaustionMark {
  /** The model that answered, as chutes/<id>. */
  model: string;
  /** model: only that model; free-models: every free model of the account (the daily free-model limit is per user). */
  scope: 'model' | 'free-models';
  type: ProviderErrorData['type'];
  httpStatus?: number;
  reason?: ProviderErrorData['reason'];
  message: string;
  resolution: string;
  resetAt: string;
  /** When it was marked and when the mark ends (ms since the epoch). */
  at: number;
  until: number;
}

/**
 * Which account a credential belongs to, for the marks: an OAuth profile by its name (its tokens
 * rotate), an API key by a hash of it (the key itself is never kept).
 */
export function accountKey(credential: Credential | undefined): string {
  if (!credential) return 'none';
  if (credential.method === 'oauth' && credential.profile) return `oauth:${credential.profile}`;
  return `key:${sha256Hex(credential.token).slice(0, 16)}`;
}

/**
 * Models (or an account) that answered a limit with a reset time, so that later calls of this
 * process skip them without asking the server again until then:
 * - a daily-limit 429 ("Free models limit reached for today") marks the model and, since the limit
 *   is the account's, every free model (priced 0) of that account, until the next UTC midnight;
 * - a quota 402 with quota_reset_timestamp marks the model (quotas are per chute) until then.
 * Other 402s and 429s name no reset time (a top-up or an upgrade lifts them at any moment): they
 * are not marked. Kept in memory only, per process.
 */
export class ExhaustionMarks {
  private readonly marks = new Map<string, ExhaustionMark>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Whether `error` would mark anything (so a caller can skip working out the account otherwise). */
  static marks(error: ChutesError): boolean {
    return scopesFor(error).length > 0;
  }

  /** Marks what `error`, answered by `model` (chutes/<id>) for `account`, says is exhausted; nothing for other errors. */
  record(account: string, model: string, error: ChutesError): void {
    const scopes = scopesFor(error);
    const resetAt = Date.parse(error.data.resetAt ?? '');
    const at = this.now();
    if (scopes.length === 0 || !(resetAt > at)) return;
    const { type, httpStatus, reason, message, resolution } = error.data;
    for (const scope of scopes) {
      const mark: ExhaustionMark = {
        model,
        scope,
        type,
        message,
        resolution,
        resetAt: new Date(resetAt).toISOString(),
        at,
        until: Math.min(resetAt, at + MAX_MARK_MS),
      };
      if (httpStatus !== undefined) mark.httpStatus = httpStatus;
      if (reason !== undefined) mark.reason = reason;
      this.marks.set(markKey(account, scope, scope === 'model' ? model : ''), mark);
    }
  }

  /**
   * The mark that stops `model` for `account` now: its own, else the account's free-model mark when
   * `isFree` says the model is free (asked only then). Marks whose time has passed are dropped.
   */
  async find(account: string, model: string, isFree: () => Promise<boolean>): Promise<ExhaustionMark | undefined> {
    const own = this.live(markKey(account, 'model', model));
    if (own) return own;
    const free = this.live(markKey(account, 'free-models', ''));
    return free && (await isFree()) ? free : undefined;
  }

  get size(): number {
    return this.marks.size;
  }

  /**
   * The error a call skipping `model` because of `mark` ends with (when no fallback is left): the
   * type, status, reason and reset time of the answer that made the mark, and when it resets.
   */
  errorFor(model: string, mark: ExhaustionMark): ChutesError {
    const resetAt = mark.resetAt;
    const seen = `${mark.model} answered at ${new Date(mark.at).toISOString()}: ${mark.message}`;
    const why =
      mark.scope === 'model' || model === mark.model
        ? `${model} is exhausted until ${resetAt} (${seen})`
        : `the daily free-model limit of this account is reached until ${resetAt}, and ${model} is a free model (${seen})`;
    const init: ConstructorParameters<typeof ChutesError>[1] = {
      message: `${why}; the request was not sent`,
      resolution: `${mark.resolution} It resets at ${resetAt} (in ${duration(mark.until - this.now())}); until then this process does not ask again (restart it to ask at once).`,
      retryable: false,
      resetAt,
    };
    if (mark.httpStatus !== undefined) init.httpStatus = mark.httpStatus;
    if (mark.reason !== undefined) init.reason = mark.reason;
    return new ChutesError(mark.type, init);
  }

  private live(key: string): ExhaustionMark | undefined {
    const mark = this.marks.get(key);
    if (mark && mark.until <= this.now()) {
      this.marks.delete(key);
      return undefined;
    }
    return mark;
  }
}

function scopesFor(error: ChutesError): Array<ExhaustionMark['scope']> {
  const { type, reason, resetAt } = error.data;
  if (resetAt === undefined) return [];
  if (type === 'rate_limited' && reason === 'daily_limit') return ['model', 'free-models'];
  if (type === 'payment_required' && reason === 'quota_exceeded') return ['model'];
  return [];
}

function markKey(account: string, scope: ExhaustionMark['scope'], model: string): string {
  return `${account}\n${scope}\n${model}`;
}

/** "3 h 12 min", "5 min", "40 s". */
function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}
