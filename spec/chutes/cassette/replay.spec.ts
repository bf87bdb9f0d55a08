import * as fs from 'node:fs';
import * as path from 'node:path';
import { request } from 'undici';
import { recordingDispatcher } from '../../../lib/chutes/cassette/record';
import { replayDispatcher } from '../../../lib/chutes/cassette/replay';
import { errorFromNetwork } from '../../../lib/chutes/http/network-errors';
import { validate } from '../../../lib/schema-validation';
import { startLoopback } from '../../helpers/loopback';
import { tempHome } from '../../helpers/rpc-process';

function cassetteFile(content: unknown): string {
  const file = path.join(tempHome(), 'cassette.json');
  fs.writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('replay', () => {
  const file = cassetteFile({
    version: 1,
    interactions: [
      { request: { url: 'https://llm.chutes.ai/v1/models' }, response: { status: 200, json: { object: 'list', data: [] } }, repeat: true },
      {
        request: { method: 'POST', url: 'https://llm.chutes.ai/v1/chat/completions', body: { model: 'a' } },
        response: {
          status: 429,
          headers: { 'retry-after': '0' },
          json: { detail: 'Infrastructure is at maximum capacity, try again later' },
        },
      },
      {
        request: { method: 'POST', url: 'https://llm.chutes.ai/v1/chat/completions', body: { model: 'a' } },
        response: {
          status: 200,
          headers: { 'content-type': 'text/event-stream' },
          sse: [{ choices: [{ delta: { content: 'hi' } }] }, '[DONE]'],
        },
      },
    ],
  });

  it('answers from the cassette, in order, matching the body as a subset', async () => {
    const agent = replayDispatcher(file);
    try {
      for (let i = 0; i < 2; i++) {
        const r = await request('https://llm.chutes.ai/v1/models', { dispatcher: agent });
        expect(await r.body.json()).toEqual({ object: 'list', data: [] });
      }
      const post = (model: string) =>
        request('https://llm.chutes.ai/v1/chat/completions', {
          dispatcher: agent,
          method: 'POST',
          body: JSON.stringify({ model, stream: true }),
        });
      const first = await post('a');
      expect(first.statusCode).toBe(429);
      expect(first.headers['retry-after']).toBe('0');
      await first.body.text();
      const second = await post('a');
      expect(await second.body.text()).toBe('data: {"choices":[{"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n');
    } finally {
      await agent.close();
    }
  });

  it('fails a request missing from the cassette with an error naming the method and URL', async () => {
    const agent = replayDispatcher(file);
    try {
      const err = await request('https://llm.chutes.ai/v1/nope', { dispatcher: agent, method: 'DELETE' }).catch((e: unknown) => e);
      const mapped = errorFromNetwork(err, { method: 'DELETE', url: 'https://llm.chutes.ai/v1/nope', replayFile: file });
      expect(mapped.type).toBe('network_error');
      expect(mapped.message).toBe(
        `replay: no recorded response for DELETE https://llm.chutes.ai/v1/nope in ${file}; the cassette records nothing for ` +
          'https://llm.chutes.ai/v1/nope; it has GET https://llm.chutes.ai/v1/models, POST https://llm.chutes.ai/v1/chat/completions',
      );
      expect(mapped.data.resolution).toMatch(/^Replay answers only what the cassette recorded/);
      expect(mapped.data.resolution).not.toMatch(/network connection/);
      expect(mapped.data.retryable).toBe(false);
    } finally {
      await agent.close();
    }
  });

  it('says how an unmatched request differs from each one recorded for its URL: method, query, body field, already used', async () => {
    const agent = replayDispatcher(file);
    const url = 'https://llm.chutes.ai/v1/chat/completions';
    const explain = async (method: string, body: string | undefined, at = url) => {
      const err = await request(at, { dispatcher: agent, method, ...(body === undefined ? {} : { body }) })
        .then((r) => r.body.text())
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      return errorFromNetwork(err, { method, url: at, replayFile: file }).message.split('; ').slice(1).join('; ');
    };
    try {
      expect(await explain('POST', JSON.stringify({ model: 'b' }))).toBe(
        'recorded for this URL: #2 POST /v1/chat/completions: body.model is "a" there, "b" here | ' +
          '#3 POST /v1/chat/completions: body.model is "a" there, "b" here',
      );
      expect(await explain('GET', undefined, `${url}?x=1`)).toMatch(
        /^recorded for this URL: #2 POST \/v1\/chat\/completions: method POST, not GET; query \(none\), not \?x=1; it has a body/,
      );
      await request(url, { dispatcher: agent, method: 'POST', body: '{"model":"a"}' }).then((r) => r.body.text());
      await request(url, { dispatcher: agent, method: 'POST', body: '{"model":"a"}' }).then((r) => r.body.text());
      expect(await explain('POST', '{"model":"a"}')).toMatch(/#2 POST \/v1\/chat\/completions: matches, but it was already used/);
    } finally {
      await agent.close();
    }
  });

  it('refuses an invalid cassette with a clear message', () => {
    expect(() => replayDispatcher(cassetteFile({ version: 2, interactions: [] }))).toThrow(/invalid cassette .*\/version must be 1/);
  });
});

describe('replay pacing', () => {
  const paced = cassetteFile({
    version: 1,
    interactions: [
      {
        request: { method: 'POST', url: 'https://llm.chutes.ai/v1/chat/completions' },
        response: {
          status: 200,
          headers: { 'content-type': 'text/event-stream' },
          eventIntervalMs: 40,
          sse: ['1', '2', '3', '4', '[DONE]'],
        },
        repeat: true,
      },
    ],
  });

  it('delivers the events of a stream one at a time, apart in time, without the pacing header', async () => {
    const agent = replayDispatcher(paced);
    try {
      const r = await request('https://llm.chutes.ai/v1/chat/completions', { dispatcher: agent, method: 'POST', body: '{}' });
      expect(Object.keys(r.headers)).not.toContain('x-chutes-rpc-replay-interval-ms');
      const arrivals: Array<[number, string]> = [];
      const t0 = Date.now();
      for await (const chunk of r.body) arrivals.push([Date.now() - t0, chunk.toString()]);
      expect(arrivals.map(([, c]) => c)).toEqual(['data: 1\n\n', 'data: 2\n\n', 'data: 3\n\n', 'data: 4\n\n', 'data: [DONE]\n\n']);
      expect(arrivals.at(-1)![0] - arrivals[0]![0]).toBeGreaterThanOrEqual(4 * 30);
    } finally {
      await agent.close();
    }
  });

  it('stops at once when the caller aborts half way', async () => {
    const agent = replayDispatcher(paced);
    try {
      const ac = new AbortController();
      const r = await request('https://llm.chutes.ai/v1/chat/completions', {
        dispatcher: agent,
        method: 'POST',
        body: '{}',
        signal: ac.signal,
      });
      const got: string[] = [];
      const t0 = Date.now();
      const err = await (async () => {
        for await (const chunk of r.body) {
          got.push(chunk.toString());
          if (got.length === 2) ac.abort();
        }
      })().catch((e: Error) => e);
      expect((err as Error).name).toBe('AbortError');
      expect(got).toHaveLength(2);
      expect(Date.now() - t0).toBeLessThan(1000);
    } finally {
      await agent.close();
    }
  });
});

describe('record', () => {
  it('writes what it saw as a cassette without secrets, which replays to the same answers', async () => {
    const server = await startLoopback((req, res) => {
      if (req.url === '/v1/models') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'm', echo: 'cpk_test_fake_key_in_body' }] }));
      } else {
        res.setHeader('content-type', 'text/event-stream');
        res.write('data: {"choices":[{"delta":{"content":"a"}}]}\n\n');
        res.end('data: [DONE]\n\n');
      }
    });
    const out = path.join(tempHome(), 'recorded.json');
    const { dispatcher, close } = recordingDispatcher(out);
    const auth = { authorization: 'Bearer cpk_test_fake_key_in_header' };
    const models = await request(`${server.url}/v1/models`, { dispatcher, headers: auth });
    const modelsBody = await models.body.text();
    const chat = await request(`${server.url}/v1/chat/completions`, { dispatcher, method: 'POST', headers: auth, body: '{"model":"m"}' });
    const chatBody = await chat.body.text();
    await close();
    await server.close();

    const text = fs.readFileSync(out, 'utf8');
    expect(text).not.toMatch(/cpk_test_fake_key/);
    expect(text.toLowerCase()).not.toContain('authorization');
    const cassette = JSON.parse(text);
    expect(validate('cassette', cassette)).toEqual([]);
    expect(cassette.interactions[1].response.sse).toEqual([{ choices: [{ delta: { content: 'a' } }] }, '[DONE]']);
    expect((fs.statSync(out).mode & 0o777).toString(8)).toBe('600');

    const agent = replayDispatcher(out);
    try {
      const again = await request(`${server.url}/v1/chat/completions`, { dispatcher: agent, method: 'POST', body: '{"model":"m"}' });
      expect(await again.body.text()).toBe(chatBody);
      const m = await request(`${server.url}/v1/models`, { dispatcher: agent });
      expect(await m.body.text()).toBe(modelsBody.replace('cpk_test_fake_key_in_body', 'cpk_[redacted]'));
    } finally {
      await agent.close();
    }
  });

  it('survives a dropped connection (the failed exchange is not recorded) and never stores form bodies', async () => {
    const server = await startLoopback((req, res) => {
      if (req.url === '/drop') return req.socket.destroy();
      res.setHeader('content-type', 'application/json');
      res.end('{"access_token":"cak_test_fake_recorded_token","token_type":"Bearer"}');
    });
    const out = path.join(tempHome(), 'recorded.json');
    const { dispatcher, close } = recordingDispatcher(out);
    const dropped = await request(`${server.url}/drop`, { dispatcher }).catch((e: Error) => e);
    expect(dropped).toBeInstanceOf(Error);
    const form = 'grant_type=refresh_token&refresh_token=opaque%2Frefresh%2Bvalue&client_secret=csc_fake%2Fsecret%2B%3D';
    const token = await request(`${server.url}/idp/token`, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    await token.body.text();
    await close();
    await server.close();
    const text = fs.readFileSync(out, 'utf8');
    const cassette = JSON.parse(text);
    expect(cassette.interactions).toHaveLength(1);
    expect(cassette.interactions[0].request).toEqual({ method: 'POST', url: `${server.url}/idp/token` });
    expect(text).not.toMatch(/opaque|secret%2B|csc_fake|cak_test_fake_recorded_token/);
  });
});
