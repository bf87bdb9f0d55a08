import { earliestSlot, prune, release, reserve, type SendWindow } from '../../../lib/chutes/pacing/send-window';
import { serverLimits, userBudget } from '../../../lib/chutes/pacing/server-limits';

const W = 60_000;

/** The most sends any window of length W holds. */
function busiest(times: number[]): number {
  let most = 0;
  for (const end of times) most = Math.max(most, times.filter((t) => t > end - W && t <= end).length);
  return most;
}

describe('the send window (a token bucket whose tokens come back one window after they were spent)', () => {
  it('lets the budget through at once, then one send each time an old one leaves the window', () => {
    const w: SendWindow = { sent: [] };
    const slots = Array.from({ length: 10 }, (_, i) => reserve([{ window: w, limit: 6 }], 1000 + i, W));
    expect(slots.slice(0, 6)).toEqual([1000, 1001, 1002, 1003, 1004, 1005]);
    expect(slots.slice(6)).toEqual([1000 + W, 1001 + W, 1002 + W, 1003 + W]);
    expect(busiest(slots)).toBe(6);
  });

  it('never puts more than the limit into any window, however the requests arrive', () => {
    const w: SendWindow = { sent: [] };
    const slots: number[] = [];
    let now = 0;
    for (let i = 0; i < 300; i++) {
      now += (i * 7919) % 1700; // irregular arrivals, bursts and gaps
      prune(w, now, W);
      slots.push(reserve([{ window: w, limit: 60 }], now, W));
    }
    expect(busiest(slots)).toBeLessThanOrEqual(60);
    expect([...slots].sort((a, b) => a - b)).toEqual(slots); // in turn
  });

  it('a request needs a slot in every window given: the credential and the chute', () => {
    const user: SendWindow = { sent: [] };
    const chute: SendWindow = { sent: [] };
    const both = () =>
      reserve(
        [
          { window: user, limit: 5 },
          { window: chute, limit: 2 },
        ],
        0,
        W,
      );
    expect([both(), both(), both()]).toEqual([0, 0, W]);
    expect(user.sent).toEqual([0, 0, W]);
  });

  it('prunes what left the window, and a released reservation frees its slot', () => {
    const w: SendWindow = { sent: [0, 10, 20] };
    prune(w, W + 10, W);
    expect(w.sent).toEqual([20]);
    expect(earliestSlot({ sent: [0, 1] }, 2, 5, W)).toBe(W);
    const x: SendWindow = { sent: [0, 1, W] };
    release(x, W);
    expect(earliestSlot(x, 2, 5, W)).toBe(W);
    expect(x.sent).toEqual([0, 1]);
  });
});

describe('limits from the X-Chutes-RL-* headers', () => {
  it('reads numbers and "inf", and ignores anything else', () => {
    expect(serverLimits({ 'x-chutes-rl-user': '120', 'x-chutes-rl-chute': 'inf' })).toEqual({ user: 120, chute: 'inf' });
    expect(serverLimits({ 'x-chutes-rl-user': 'Infinity' })).toEqual({ user: 'inf' });
    expect(serverLimits({ 'x-chutes-rl-user': '60, 60' })).toEqual({ user: 60 });
    expect(serverLimits({ 'x-chutes-rl-user': 'lots', 'x-chutes-rl-chute': '0' })).toEqual({});
    expect(serverLimits({ 'x-chutes-rl-user': '5000000' })).toEqual({ user: 'inf' });
    expect(serverLimits({})).toEqual({});
  });

  it('the server replaces the default budget; a configured budget is a ceiling; 0 is off', () => {
    const byDefault = { requestsPerMinute: 60, configured: false };
    const configured = { requestsPerMinute: 30, configured: true };
    expect(userBudget(byDefault, undefined)).toBe(60);
    expect(userBudget(byDefault, 180)).toBe(180);
    expect(userBudget(byDefault, 'inf')).toBeUndefined();
    expect(userBudget(configured, 180)).toBe(30);
    expect(userBudget(configured, 10)).toBe(10);
    expect(userBudget(configured, 'inf')).toBe(30);
    expect(userBudget({ requestsPerMinute: 0, configured: true }, 60)).toBeUndefined();
  });
});
