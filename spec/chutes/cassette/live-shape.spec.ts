import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readCassette, responseBodyText } from '../../../lib/chutes/cassette/cassette-file';
import type { CassetteInteraction } from '../../../lib/generated/types';
import { ROOT } from '../../helpers/rpc-process';

/**
 * Every cassette in fixtures/cassettes follows the live 2026 wire shapes (the "2026 corrections" of
 * the wire notes): a cassette written for an older picture of the service fails here, naming the
 * cassette, the interaction and the rule. A cassette that departs from the live shape on purpose
 * (to test tolerance of an older server, say) is listed in DELIBERATE with the rules it breaks and why.
 */
const DIR = path.join(ROOT, 'fixtures', 'cassettes');
type Rule = 'cumulative-usage' | 'invocation-id' | 'no-retry-after' | 'detail-body' | 'model-entries';
const DELIBERATE: Record<string, { rules: Rule[]; why: string }> = {
  // 'old-server.json': { rules: ['cumulative-usage'], why: 'usage only in the final chunk, as older servers send it' },
};

const cassettes = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

const isChat = (i: CassetteInteraction) => i.request.url.endsWith('/v1/chat/completions');
const isModels = (i: CassetteInteraction) => i.request.url.endsWith('/v1/models');
const ok = (i: CassetteInteraction) => i.response.status >= 200 && i.response.status < 300;
const header = (i: CassetteInteraction, name: string) => i.response.headers?.[name];

/** The data chunks of a stream, whether stored as sse items or as raw text (a stream that fails midway). */
function chunks(i: CassetteInteraction): any[] {
  if (i.response.sse) return i.response.sse.filter((e) => typeof e === 'object');
  const text = responseBodyText(i.response);
  return text
    .split(/\n\n/)
    .filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]')
    .map((e) => JSON.parse(e.slice(6)));
}

/** The problems of one cassette, as "#index: rule: what". */
function problems(file: string): string[] {
  const name = path.basename(file);
  const skip = new Set(DELIBERATE[name]?.rules ?? []);
  const out: string[] = [];
  const add = (k: number, rule: Rule, what: string) => {
    if (!skip.has(rule)) out.push(`#${k}: ${rule}: ${what}`);
  };
  readCassette(file).interactions.forEach((i, k) => {
    // [25]: no Retry-After is sent anywhere.
    if (header(i, 'retry-after') !== undefined) add(k, 'no-retry-after', 'the server never sends Retry-After');
    // [25]: the invocation id only on successful invocations, never on errors or /v1/models.
    const invocation = header(i, 'x-chutes-invocationid');
    if (isChat(i) && ok(i) && !invocation) add(k, 'invocation-id', 'a successful invocation without X-Chutes-InvocationID');
    if ((!isChat(i) || !ok(i)) && invocation !== undefined) {
      add(k, 'invocation-id', 'X-Chutes-InvocationID on an error or a /v1/models answer');
    }
    // FastAPI errors: {"detail": ...}, and the cold-start text as the server words it [23].
    if (!ok(i) && (isChat(i) || isModels(i))) {
      const detail = (i.response.json as any)?.detail;
      if (detail === undefined) add(k, 'detail-body', `status ${i.response.status} without a FastAPI {"detail": ...} body`);
      if (typeof detail === 'string' && detail.startsWith('No instances available') && !/ for chute_id='[^']+'$/.test(detail)) {
        add(k, 'detail-body', `the 503 text is "No instances available (yet) for chute_id='...'", not ${JSON.stringify(detail)}`);
      }
    }
    // [8]: every chunk carries the cumulative usage (continuous_usage_stats); never decreasing.
    if (isChat(i) && ok(i)) {
      let last = -1;
      chunks(i).forEach((c, n) => {
        const u = c.usage;
        if (!u || typeof u !== 'object') return add(k, 'cumulative-usage', `chunk ${n} has no usage`);
        if (u.total_tokens !== u.prompt_tokens + u.completion_tokens)
          add(k, 'cumulative-usage', `chunk ${n}: total is not prompt + completion`);
        if (u.completion_tokens < last) add(k, 'cumulative-usage', `chunk ${n}: completion_tokens went down (summed, not cumulative?)`);
        last = u.completion_tokens;
        if (typeof c.model !== 'string') add(k, 'cumulative-usage', `chunk ${n} does not name the model that served`);
      });
    }
    // /v1/models entries: chute_id, confidential_compute, the cache-read price. (models-edge.json
    // breaks entries on purpose: its entries are checked only for the fields every real entry has.)
    if (isModels(i) && ok(i) && i.response.json && typeof i.response.json === 'object') {
      const data: unknown[] = (i.response.json as any).data ?? [];
      data.forEach((e: any, n) => {
        if (!e || typeof e !== 'object' || typeof e.id !== 'string') return;
        if (name === 'models-edge.json') return;
        if (typeof e.chute_id !== 'string') add(k, 'model-entries', `entry ${n} (${e.id}) has no chute_id`);
        if (typeof e.confidential_compute !== 'boolean') add(k, 'model-entries', `entry ${n} (${e.id}) has no confidential_compute`);
        if (e.pricing && typeof e.pricing.input_cache_read !== 'number') {
          add(k, 'model-entries', `entry ${n} (${e.id}) has pricing without input_cache_read`);
        }
      });
    }
  });
  return out;
}

describe('the cassettes follow the live wire shapes', () => {
  it('finds the cassettes', () => {
    expect(cassettes).toEqual(expect.arrayContaining(['chat-text.json', 'demo.json', 'live-2026.json', 'models-demo.json']));
  });

  it.each(cassettes)('%s', (name) => {
    expect(problems(path.join(DIR, name))).toEqual([]);
  });

  it('the checks fail on the first picture of the service', () => {
    // The old chat-text.json shape: usage only in a final choices: [] chunk; an error with Retry-After.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cassette-shape-'));
    const chunk = (usage: object | null) => ({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage });
    const old = {
      version: 1,
      interactions: [
        {
          request: { method: 'POST', url: 'https://llm.chutes.ai/v1/chat/completions' },
          response: {
            status: 429,
            headers: { 'retry-after': '0', 'content-type': 'application/json' },
            json: { error: { message: 'busy' } },
          },
        },
        {
          request: { method: 'POST', url: 'https://llm.chutes.ai/v1/chat/completions' },
          response: {
            status: 200,
            headers: { 'content-type': 'text/event-stream' },
            sse: [chunk(null), chunk({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }), '[DONE]'],
          },
        },
        {
          request: { url: 'https://llm.chutes.ai/v1/models' },
          response: { status: 200, headers: { 'x-chutes-invocationid': 'i' }, json: { object: 'list', data: [{ id: 'a/b' }] } },
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'old.json'), JSON.stringify(old));
    try {
      expect(problems(path.join(dir, 'old.json'))).toEqual([
        '#0: no-retry-after: the server never sends Retry-After',
        '#0: detail-body: status 429 without a FastAPI {"detail": ...} body',
        '#1: invocation-id: a successful invocation without X-Chutes-InvocationID',
        '#1: cumulative-usage: chunk 0 has no usage',
        '#2: invocation-id: X-Chutes-InvocationID on an error or a /v1/models answer',
        '#2: model-entries: entry 0 (a/b) has no chute_id',
        '#2: model-entries: entry 0 (a/b) has no confidential_compute',
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
