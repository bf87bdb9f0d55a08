import { accountKey, ExhaustionMarks } from '../../../lib/chutes/chat/exhaustion-marks';
import { ChutesError } from '../../../lib/chutes/errors';
import { errorFromResponse } from '../../../lib/chutes/http/response-errors';

const T0 = Date.parse('2026-11-21T10:00:00.000Z');
const MIDNIGHT = '2026-11-22T00:00:00.000Z';
const free = async () => true;
const paid = async () => false;

function dailyLimit(): ChutesError {
  return new ChutesError('rate_limited', {
    message: 'HTTP 429: Free models limit reached for today - maintain >= $10 balance or upgrade subscription to increase limits.',
    httpStatus: 429,
    reason: 'daily_limit',
    retryable: false,
    resetAt: MIDNIGHT,
    resolution: 'The daily limit of free-model requests is used up.',
  });
}

function quota(resetAt?: string): ChutesError {
  return new ChutesError('payment_required', {
    message: 'HTTP 402: Quota exceeded for today',
    httpStatus: 402,
    reason: 'quota_exceeded',
    retryable: false,
    ...(resetAt ? { resetAt } : {}),
  });
}

describe('ExhaustionMarks', () => {
  let now: number;
  let marks: ExhaustionMarks;
  beforeEach(() => {
    now = T0;
    marks = new ExhaustionMarks(() => now);
  });

  it('marks the model after a daily-limit 429, and every free model of the account, until the reset time', async () => {
    marks.record('acct', 'chutes/acme/Free', dailyLimit());
    expect(await marks.find('acct', 'chutes/acme/Free', paid)).toMatchObject({ scope: 'model', resetAt: MIDNIGHT, reason: 'daily_limit' });
    expect(await marks.find('acct', 'chutes/acme/OtherFree', free)).toMatchObject({ scope: 'free-models', model: 'chutes/acme/Free' });
    // A paid model, or another account, is not stopped by it.
    expect(await marks.find('acct', 'chutes/acme/Paid', paid)).toBeUndefined();
    expect(await marks.find('other', 'chutes/acme/Free', free)).toBeUndefined();

    now = Date.parse(MIDNIGHT) - 1;
    expect(await marks.find('acct', 'chutes/acme/Free', paid)).toBeDefined();
    now = Date.parse(MIDNIGHT);
    expect(await marks.find('acct', 'chutes/acme/Free', paid)).toBeUndefined();
    expect(await marks.find('acct', 'chutes/acme/OtherFree', free)).toBeUndefined();
    expect(marks.size).toBe(0);
  });

  it('asks whether a model is free only when an account-wide mark exists', async () => {
    const isFree = jest.fn(free);
    marks.record('acct', 'chutes/acme/Q', quota(MIDNIGHT));
    expect(await marks.find('acct', 'chutes/acme/Other', isFree)).toBeUndefined();
    expect(isFree).not.toHaveBeenCalled();
  });

  it('marks only that model after a quota 402 with quota_reset_timestamp (quotas are per chute)', async () => {
    const error = errorFromResponse(
      402,
      {},
      JSON.stringify({ detail: { message: 'Quota exceeded for today', quota_reset_timestamp: '2026-11-22T00:00:00+00:00' } }),
    );
    marks.record('acct', 'chutes/acme/Q', error);
    expect(await marks.find('acct', 'chutes/acme/Q', paid)).toMatchObject({ scope: 'model', type: 'payment_required', httpStatus: 402 });
    expect(await marks.find('acct', 'chutes/acme/Free', free)).toBeUndefined();
  });

  it('does not mark what names no reset time, a reset time already past, or other errors', async () => {
    marks.record('acct', 'chutes/a/NoReset', quota());
    marks.record('acct', 'chutes/a/Past', quota('2026-11-21T09:59:59.000Z'));
    marks.record(
      'acct',
      'chutes/a/Tee',
      errorFromResponse(402, {}, JSON.stringify({ detail: 'TEE models require an active subscription or positive balance.' })),
    );
    marks.record('acct', 'chutes/a/Busy', errorFromResponse(429, {}, JSON.stringify({ detail: 'Infrastructure is at maximum capacity' })));
    marks.record('acct', 'chutes/a/Cold', new ChutesError('model_unavailable', { message: 'HTTP 503', resetAt: MIDNIGHT }));
    expect(marks.size).toBe(0);
    expect(ExhaustionMarks.marks(quota(MIDNIGHT))).toBe(true);
    expect(ExhaustionMarks.marks(quota())).toBe(false);
  });

  it('keeps a mark at most a day, whatever reset time the service named', async () => {
    marks.record('acct', 'chutes/a/Far', quota('2027-06-01T00:00:00.000Z'));
    now = T0 + 24 * 3600_000 - 1;
    expect(await marks.find('acct', 'chutes/a/Far', paid)).toBeDefined();
    now = T0 + 24 * 3600_000;
    expect(await marks.find('acct', 'chutes/a/Far', paid)).toBeUndefined();
  });

  it('answers a skipped model with the same type, status, reason and reset time, and says when it resets', async () => {
    marks.record('acct', 'chutes/acme/Free', dailyLimit());
    now = T0 + 60_000;
    const own = marks.errorFor('chutes/acme/Free', (await marks.find('acct', 'chutes/acme/Free', paid))!);
    expect(own.data).toMatchObject({ type: 'rate_limited', httpStatus: 429, reason: 'daily_limit', resetAt: MIDNIGHT, retryable: false });
    expect(own.data.attempts).toBeUndefined();
    expect(own.message).toMatch(/chutes\/acme\/Free is exhausted until 2026-11-22T00:00:00.000Z .*Free models limit reached.*not sent/);
    expect(own.data.resolution).toMatch(
      /^The daily limit of free-model requests is used up\. It resets at 2026-11-22T00:00:00.000Z \(in 13 h 59 min\)/,
    );

    const other = marks.errorFor('chutes/acme/OtherFree', (await marks.find('acct', 'chutes/acme/OtherFree', free))!);
    expect(other.message).toMatch(/daily free-model limit of this account .* chutes\/acme\/OtherFree is a free model/);
  });
});

describe('accountKey', () => {
  it('names an API key by a hash of it (never the key), and an OAuth sign-in by its profile', () => {
    const key = accountKey({ method: 'apiKey', token: 'cpk_secret_value', source: 'env' });
    expect(key).toMatch(/^key:[0-9a-f]{16}$/);
    expect(key).not.toContain('secret');
    expect(accountKey({ method: 'apiKey', token: 'cpk_secret_value', source: 'config' })).toBe(key);
    expect(accountKey({ method: 'apiKey', token: 'cpk_other', source: 'env' })).not.toBe(key);
    expect(accountKey({ method: 'oauth', token: 'cak_1', source: 'store', profile: 'chutes:oauth' })).toBe('oauth:chutes:oauth');
    expect(accountKey(undefined)).toBe('none');
  });
});
