import { type Dispatcher, MockAgent } from 'undici';
import { bodyMatches, readCassette, responseBodyText } from './cassette-file';
import { PACING_HEADER, pacedReplay } from './replay-pacing';

/** A dispatcher that answers every request from a cassette and lets nothing reach the network. */
export function replayDispatcher(file: string): Dispatcher {
  const cassette = readCassette(file);
  const agent = new MockAgent();
  agent.disableNetConnect();
  for (const { request, response, repeat } of cassette.interactions) {
    const url = new URL(request.url);
    const expectedBody = request.body;
    const scope = agent
      .get(url.origin)
      .intercept({
        path: url.pathname + url.search,
        method: request.method ?? 'GET',
        ...(expectedBody === undefined ? {} : { body: (actual: string) => bodyMatches(expectedBody, actual) }),
      })
      .reply(response.status, responseBodyText(response), {
        headers: {
          ...(response.headers ?? {}),
          ...(response.eventIntervalMs ? { [PACING_HEADER]: String(response.eventIntervalMs) } : {}),
        },
      });
    if (response.delayMs) scope.delay(response.delayMs);
    if (repeat === true) scope.persist();
    else if (typeof repeat === 'number') scope.times(repeat);
  }
  return agent.compose(pacedReplay());
}
