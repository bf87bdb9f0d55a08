jest.mock('../../lib/schema-validation', () => ({ validate: jest.fn(() => []) }));

import { validate } from '../../lib/schema-validation';
import { PRELOAD_IDLE_MS, withPreload } from '../../lib/methods/preload';

const validated = validate as jest.MockedFunction<typeof validate>;

describe('withPreload', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('loads every method validator once, only after no call has been in flight for the idle time', async () => {
    await withPreload(['a.one', 'b.two'], () => Promise.resolve('first'));
    jest.advanceTimersByTime(PRELOAD_IDLE_MS - 1);
    expect(validated).not.toHaveBeenCalled();

    // A burst that starts within the idle time puts the preload off until it has ended.
    let finish!: () => void;
    const burst = withPreload(['a.one', 'b.two'], () => new Promise<void>((r) => (finish = r)));
    jest.advanceTimersByTime(PRELOAD_IDLE_MS * 3);
    expect(validated).not.toHaveBeenCalled();
    finish();
    await burst;
    jest.advanceTimersByTime(PRELOAD_IDLE_MS);
    expect(validated.mock.calls.map(([key]) => key)).toEqual(['params:a.one', 'params:b.two']);

    await withPreload(['a.one', 'b.two'], () => Promise.resolve('later'));
    jest.advanceTimersByTime(PRELOAD_IDLE_MS * 2);
    expect(validated).toHaveBeenCalledTimes(2);
  });
});
