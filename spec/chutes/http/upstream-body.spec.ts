import type { Dispatcher } from 'undici';
import { UpstreamExchange } from '../../../lib/chutes/http/upstream-body';

/** A controller as undici hands it over: the raw headers are views into the socket's first read. */
function controller(): Dispatcher.DispatchController {
  let aborted = false;
  let paused = false;
  return {
    get aborted() {
      return aborted;
    },
    get paused() {
      return paused;
    },
    reason: null,
    rawHeaders: [Buffer.from('content-type'), Buffer.from('text/event-stream')],
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
    },
    abort() {
      aborted = true;
    },
  };
}

describe('UpstreamExchange', () => {
  it('lets go of the raw headers once they are parsed, and hands the pieces on in order', async () => {
    const exchange = new UpstreamExchange(undefined);
    const c = controller();
    exchange.onRequestStart(c);
    exchange.onResponseStart(c, 200, { 'content-type': 'text/event-stream' });
    expect(c.rawHeaders).toBeNull();
    await expect(exchange.response()).resolves.toEqual({ status: 200, headers: { 'content-type': 'text/event-stream' } });
    exchange.onResponseData(c, Buffer.from('a'));
    const pieces: string[] = [];
    const done = exchange.consume((b) => void pieces.push(b.toString()));
    exchange.onResponseData(c, Buffer.from('b'));
    exchange.onResponseEnd();
    await done;
    expect(pieces).toEqual(['a', 'b']);
  });
});
