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

  it('then runs the prepare step once, after every validator was loaded', async () => {
    // A process's first preload: a fresh module (the one above has run its own).
    let preload!: typeof import('../../lib/methods/preload');
    let freshValidate!: jest.MockedFunction<typeof validate>;
    jest.isolateModules(() => {
      preload = require('../../lib/methods/preload') as typeof import('../../lib/methods/preload');
      freshValidate = (require('../../lib/schema-validation') as typeof import('../../lib/schema-validation'))
        .validate as jest.MockedFunction<typeof validate>;
    });
    const order: string[] = [];
    freshValidate.mockImplementation((key) => (order.push(key), []));
    const prepare = jest.fn(() => void order.push('prepare'));
    await preload.withPreload(['a.one'], () => Promise.resolve('first'), prepare);
    jest.advanceTimersByTime(PRELOAD_IDLE_MS - 1);
    expect(prepare).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(order).toEqual(['params:a.one', 'prepare']);

    await preload.withPreload(['a.one'], () => Promise.resolve('later'), prepare);
    jest.advanceTimersByTime(PRELOAD_IDLE_MS * 2);
    expect(prepare).toHaveBeenCalledTimes(1);
  });
});
