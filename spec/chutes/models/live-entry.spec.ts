import * as fs from 'node:fs';
import * as path from 'node:path';
import { curatedCatalog } from '../../../lib/chutes/models/catalog';
import { readLiveEntries, readLiveEntry, type LiveFacts } from '../../../lib/chutes/models/live-entry';
import { buildModel, DEFAULT_MAX_OUTPUT_TOKENS, deriveName, mergeModels } from '../../../lib/chutes/models/merge';
import type { CatalogModel, ConfigModelEntry, Model } from '../../../lib/generated/types';
import { validate } from '../../../lib/schema-validation';
import { CASSETTES, DOCS_MODELS, liveBody, liveEntry, readCassetteJson } from '../../helpers/models-fixtures';
import { ROOT } from '../../helpers/rpc-process';

function facts(raw: unknown): LiveFacts {
  const r = readLiveEntry(raw);
  if (!r.ok) throw new Error(`refused: ${r.reason}`);
  return r.facts;
}

/** A live entry mapped on its own (no catalog, no config). */
function mapAlone(raw: unknown): Model {
  return buildModel(facts(raw), undefined, undefined);
}

const catalog = curatedCatalog();
const catalogEntry = (id: string): CatalogModel => {
  const c = catalog.find((m) => m.upstreamId === id);
  if (!c) throw new Error(`not in the catalog: ${id}`);
  return c;
};

function modelsSchemaProblems(models: Model[]) {
  return validate('result:models.discover', { source: 'live', fetchedAt: new Date().toISOString(), models });
}

describe('reading one live /v1/models entry', () => {
  it('maps the wire example field by field to the Model shape', () => {
    expect(mapAlone(liveEntry('models-demo.json', 'Qwen/Qwen3-32B-TEE'))).toEqual({
      id: 'chutes/Qwen/Qwen3-32B-TEE',
      upstreamId: 'Qwen/Qwen3-32B-TEE',
      name: 'Qwen3 32B TEE',
      tee: true,
      contextWindow: 40960,
      maxOutputTokens: 40960,
      inputModalities: ['text'],
      outputModalities: ['text'],
      capabilities: { tools: true, jsonMode: true, structuredOutputs: true, reasoning: true, vision: false },
      pricing: { input: 0.104, output: 0.416, cacheRead: 0.0104, unit: 'USD per 1M tokens' },
      quantization: 'fp8',
      chuteId: 'ac059e33-eb27-541c-b9a9-24b214036475',
      origin: 'live',
    });
  });

  it('falls back to max_model_len for an entry without the optional fields, with documented defaults', () => {
    const m = mapAlone(liveEntry('models-edge.json', 'unsloth/Llama-3.2-3B-Instruct'));
    expect(m.contextWindow).toBe(131072);
    expect(m.maxOutputTokens).toBe(DEFAULT_MAX_OUTPUT_TOKENS);
    expect(m.inputModalities).toEqual(['text']);
    expect(m.capabilities).toEqual({ tools: false, jsonMode: false, structuredOutputs: false, reasoning: false, vision: false });
    expect(m.pricing).toEqual({ input: null, output: null, cacheRead: null, unit: 'USD per 1M tokens' });
    expect(m.name).toBe('Llama 3.2 3B Instruct');
    expect(m.tee).toBe(false);
  });

  it('caps the default max output at the context window', () => {
    expect(mapAlone({ id: 'tiny/model', max_model_len: 2048 }).maxOutputTokens).toBe(2048);
  });

  it('prefers context_length when it is below max_model_len', () => {
    const raw = liveEntry('models-edge.json', 'deepseek-ai/DeepSeek-R1-0528-TEE');
    expect(raw.context_length).toBeLessThan(raw.max_model_len);
    expect(mapAlone(raw).contextWindow).toBe(raw.context_length);
  });

  it('keeps an id with no org as it is, and reads prices from the secondary price object when pricing is absent', () => {
    const raw = liveEntry('models-edge.json', 'Mistral-Nemo-Instruct-2407');
    expect(raw.pricing).toBeUndefined();
    const m = mapAlone(raw);
    expect(m.id).toBe('chutes/Mistral-Nemo-Instruct-2407');
    expect(m.upstreamId).toBe('Mistral-Nemo-Instruct-2407');
    expect(m.name).toBe('Mistral Nemo Instruct 2407');
    expect(m.pricing).toMatchObject({ input: 0.02, output: 0.04, cacheRead: 0.01 });
  });

  it('keeps a video modality; vision follows image input only', () => {
    const vl = mapAlone(liveEntry('models-edge.json', 'Qwen/Qwen3-VL-235B-A22B-Instruct'));
    expect(vl.inputModalities).toEqual(['text', 'image', 'video']);
    expect(vl.capabilities.vision).toBe(true);
    const videoOnly = mapAlone(liveEntry('models-edge.json', 'lmms-lab/LLaVA-Video-7B-Qwen2'));
    expect(videoOnly.inputModalities).toEqual(['text', 'video']);
    expect(videoOnly.capabilities.vision).toBe(false);
  });

  it('ignores unknown extra fields: the entry maps exactly like its plain twin', () => {
    const noisy = liveEntry('models-edge.json', 'zai-org/GLM-4.7-Flash');
    const plain = liveEntry('models-demo.json', 'zai-org/GLM-4.7-Flash');
    expect(Object.keys(noisy).length).toBeGreaterThan(Object.keys(plain).length + 5);
    const { chuteId: _a, ...a } = mapAlone(noisy);
    const { chuteId: _b, ...b } = mapAlone(plain);
    expect(a).toEqual(b);
  });

  it('takes tee from confidential_compute, never from the -TEE suffix', () => {
    expect(mapAlone(liveEntry('models-edge.json', 'Qwen/Qwen3-14B-TEE')).tee).toBe(false);
    expect(mapAlone(liveEntry('models-edge.json', 'openai/gpt-oss-20b')).tee).toBe(true);
    expect(mapAlone({ id: 'x/Some-Model-TEE', max_model_len: 4096 }).tee).toBe(false);
  });

  it('reads supported_features into capabilities, case-insensitively', () => {
    const m = mapAlone({ id: 'a/b', max_model_len: 4096, supported_features: ['TOOLS', 'json_mode'] });
    expect(m.capabilities).toMatchObject({ tools: true, jsonMode: true, structuredOutputs: false, reasoning: false });
  });

  it('treats null and zero as "not said"', () => {
    const f = facts({ id: 'a/b', context_length: null, max_model_len: 4096, max_output_length: 0, pricing: null, input_modalities: null });
    expect(f.contextWindow).toBe(4096);
    expect(f.maxOutputTokens).toBeUndefined();
    expect(f.inputModalities).toBeUndefined();
    expect(f.pricing).toEqual({});
  });

  it.each([
    [{ object: 'model' }, 'no id'],
    [{ id: '' }, 'no id'],
    [{ id: 42 }, 'no id'],
    [{ id: 'a b' }, 'whitespace'],
    [{ id: 'a/b', confidential_compute: 'yes' }, 'confidential_compute'],
    [{ id: 'a/b', context_length: '4096' }, 'context_length'],
    [{ id: 'a/b', max_model_len: 4096.5 }, 'max_model_len'],
    [{ id: 'a/b', max_output_length: -1 }, 'max_output_length'],
    [{ id: 'a/b', input_modalities: 'text' }, 'input_modalities'],
    [{ id: 'a/b', supported_features: [1] }, 'supported_features'],
    [{ id: 'a/b', pricing: 3 }, 'pricing'],
    [{ id: 'a/b', pricing: { prompt: -0.1 } }, 'pricing.prompt'],
    [{ id: 'a/b', pricing: { completion: 'cheap' } }, 'pricing.completion'],
    ['a string', 'not an object'],
    [null, 'not an object (null)'],
    [['a', 'b'], 'not an object (array)'],
  ])('refuses %j (%s)', (raw, why) => {
    const r = readLiveEntry(raw);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(why);
  });

  it('ignores a malformed secondary price object rather than refusing the entry', () => {
    const f = facts({ id: 'a/b', max_model_len: 4096, price: { input: 'x', output: { usd: -1 } } });
    expect(f.pricing).toEqual({});
  });
});

describe('reading a whole live list', () => {
  const data = liveBody('models-edge.json').data;
  const { facts: read, skipped } = readLiveEntries(data);

  it('skips bad entries with a reason each, and drops a repeated id keeping the first', () => {
    expect(read.map((f) => f.upstreamId)).toEqual([
      'unsloth/Llama-3.2-3B-Instruct',
      'deepseek-ai/DeepSeek-R1-0528-TEE',
      'Mistral-Nemo-Instruct-2407',
      'Qwen/Qwen3-VL-235B-A22B-Instruct',
      'lmms-lab/LLaVA-Video-7B-Qwen2',
      'zai-org/GLM-4.7-Flash',
      'Qwen/Qwen3-14B-TEE',
      'openai/gpt-oss-20b',
      'NousResearch/Hermes-4-14B',
    ]);
    expect(read.find((f) => f.upstreamId === 'NousResearch/Hermes-4-14B')!.contextWindow).toBe(40960);
    expect(skipped).toHaveLength(data.length - read.length);
    const text = skipped.join('\n');
    for (const why of [
      'repeats an earlier id',
      'no id',
      'broken/context-as-text',
      'context_length',
      'pricing.prompt',
      'not an object (string)',
      'not an object (null)',
    ]) {
      expect(text).toContain(why);
    }
  });
});

describe('merging live facts, the catalog and config entries', () => {
  const demo = readLiveEntries(liveBody('models-demo.json').data).facts;

  it('lets live facts win and the catalog fill the rest', () => {
    const merged = mergeModels(demo, catalog, []);
    const mistral = merged.find((m) => m.upstreamId === 'mistralai/Mistral-Small-24B-Instruct-2501-TEE')!;
    expect(catalogEntry(mistral.upstreamId).contextWindow).toBe(131072);
    expect(mistral.contextWindow).toBe(32768); // live
    expect(mistral.name).toBe('Mistral Small 24B'); // catalog
    expect(mistral.origin).toBe('live+catalog');
    const glm = merged.find((m) => m.upstreamId === 'zai-org/GLM-4.7-Flash')!;
    expect(glm.contextWindow).toBe(202752); // live, catalog says 128000
    expect(glm.recommendedFor).toEqual(['general-chat']);
    const qwen = merged.find((m) => m.upstreamId === 'Qwen/Qwen3-32B-TEE')!;
    expect(qwen.origin).toBe('live');
    expect(qwen.recommendedFor).toBeUndefined();
    expect(modelsSchemaProblems(merged)).toEqual([]);
  });

  it('fills from the catalog every field a sparse live entry leaves out', () => {
    const sparse = facts({ id: 'moonshotai/Kimi-K2.5-TEE', max_model_len: 100000 });
    const m = buildModel(sparse, catalogEntry('moonshotai/Kimi-K2.5-TEE'), undefined);
    const c = catalogEntry('moonshotai/Kimi-K2.5-TEE');
    expect(m).toMatchObject({
      name: 'Kimi K2.5',
      tee: true,
      contextWindow: 100000,
      maxOutputTokens: c.maxOutputTokens,
      inputModalities: ['text', 'image'],
      capabilities: { ...c.capabilities, vision: true },
      pricing: { ...c.pricing, unit: 'USD per 1M tokens' },
      recommendedFor: ['best-overall'],
    });
  });

  it('takes a live supported_features list as the whole truth, even when it says less than the catalog', () => {
    const m = buildModel(
      facts({ id: 'moonshotai/Kimi-K2.5-TEE', supported_features: [] }),
      catalogEntry('moonshotai/Kimi-K2.5-TEE'),
      undefined,
    );
    expect(m.capabilities).toMatchObject({ tools: false, jsonMode: false, structuredOutputs: false, reasoning: false });
  });

  it('never lets the catalog or the config contradict a live confidential_compute', () => {
    const notTee = facts({ id: 'moonshotai/Kimi-K2.5-TEE', confidential_compute: false });
    const cfg: ConfigModelEntry = { id: 'moonshotai/Kimi-K2.5-TEE', tee: true };
    expect(buildModel(notTee, catalogEntry('moonshotai/Kimi-K2.5-TEE'), cfg).tee).toBe(false);
    // Without the live flag, the config says, then the catalog.
    expect(
      buildModel(facts({ id: 'moonshotai/Kimi-K2.5-TEE' }), catalogEntry('moonshotai/Kimi-K2.5-TEE'), { id: 'x', tee: false }).tee,
    ).toBe(false);
    expect(buildModel(facts({ id: 'moonshotai/Kimi-K2.5-TEE' }), catalogEntry('moonshotai/Kimi-K2.5-TEE'), undefined).tee).toBe(true);
  });

  it('lists only what the live list serves: catalog-only models are left out', () => {
    const merged = mergeModels(demo, catalog, []);
    expect(merged.map((m) => m.upstreamId).sort()).toEqual(demo.map((f) => f.upstreamId).sort());
    expect(merged.some((m) => m.upstreamId === 'zai-org/GLM-5-TEE')).toBe(false);
    expect(catalog.some((c) => c.upstreamId === 'zai-org/GLM-5-TEE')).toBe(true);
  });

  it('lists the whole catalog when there is no live list', () => {
    const merged = mergeModels(undefined, catalog, []);
    expect(merged.map((m) => m.upstreamId).sort()).toEqual(catalog.map((c) => c.upstreamId).sort());
    expect(merged.every((m) => m.origin === 'catalog')).toBe(true);
    expect(modelsSchemaProblems(merged)).toEqual([]);
  });

  it('adds config entries and lets them override fields (chutes/ prefix or bare id)', () => {
    const config: ConfigModelEntry[] = [
      { id: 'chutes/zai-org/GLM-4.7-Flash', name: 'My GLM', contextWindow: 65536, maxTokens: 4096, reasoning: false, cost: { input: 0.5 } },
      { id: 'my-org/private-model', name: 'Private', input: ['text', 'image'], cost: { input: 1, output: 2 }, tee: true },
      { id: 'zai-org/GLM-5-TEE', name: 'Pinned GLM 5' },
    ];
    const merged = mergeModels(demo, catalog, config);
    const glm = merged.find((m) => m.upstreamId === 'zai-org/GLM-4.7-Flash')!;
    expect(glm).toMatchObject({ name: 'My GLM', contextWindow: 65536, maxOutputTokens: 4096 });
    expect(glm.capabilities.reasoning).toBe(false);
    expect(glm.pricing).toMatchObject({ input: 0.5, output: 0.4 });
    const priv = merged.find((m) => m.upstreamId === 'my-org/private-model')!;
    expect(priv).toMatchObject({ id: 'chutes/my-org/private-model', name: 'Private', tee: true, origin: 'config', contextWindow: 32768 });
    expect(priv.capabilities.vision).toBe(true);
    expect(priv.pricing).toEqual({ input: 1, output: 2, cacheRead: null, unit: 'USD per 1M tokens' });
    // A config entry for a catalog model the live list lacks: listed, completed by the catalog.
    const glm5 = merged.find((m) => m.upstreamId === 'zai-org/GLM-5-TEE')!;
    expect(glm5).toMatchObject({ name: 'Pinned GLM 5', tee: true, contextWindow: catalogEntry('zai-org/GLM-5-TEE').contextWindow });
    expect(modelsSchemaProblems(merged)).toEqual([]);
  });

  it('drops repeated ids and sorts by id', () => {
    const twice = [
      facts({ id: 'b/x', max_model_len: 1000 }),
      facts({ id: 'A/y', max_model_len: 2000 }),
      facts({ id: 'b/x', max_model_len: 3000 }),
    ];
    const merged = mergeModels(twice, [], []);
    expect(merged.map((m) => [m.upstreamId, m.contextWindow])).toEqual([
      ['A/y', 2000],
      ['b/x', 1000],
    ]);
  });

  it.each([
    ['Qwen/Qwen3-235B-A22B-Instruct-2507-TEE', 'Qwen3 235B A22B Instruct 2507 TEE'],
    ['gpt-oss-20b', 'gpt oss 20b'],
    ['unsloth/gemma_3_4b-it', 'gemma 3 4b it'],
    ['org/', 'org'],
  ])('derives a readable name from %s', (id, name) => {
    expect(deriveName(id)).toBe(name);
  });
});

describe('the curated catalog', () => {
  const file = path.join(ROOT, 'lib', 'chutes', 'models', 'catalog.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));

  it('passes its schema', () => {
    expect(validate('catalog', json)).toEqual([]);
    expect(catalog.length).toBe(json.models.length);
  });

  it('has the models the Chutes docs name, with the docs table recommendations', () => {
    const ids = catalog.map((c) => c.upstreamId);
    for (const id of DOCS_MODELS) expect(ids).toContain(id);
    const rec = Object.fromEntries(catalog.filter((c) => c.recommendedFor).map((c) => [c.upstreamId, c.recommendedFor]));
    expect(rec).toEqual({
      'zai-org/GLM-4.7-Flash': ['general-chat'],
      'moonshotai/Kimi-K2.5-TEE': ['best-overall'],
      'deepseek-ai/DeepSeek-V3.2-TEE': ['tee-privacy'],
      'Qwen/Qwen3-235B-A22B-Instruct-2507-TEE': ['complex-reasoning'],
      'chutesai/Mistral-Small-3.1-24B-Instruct-2503': ['tool-calling'],
    });
    expect(new Set(ids).size).toBe(ids.length);
    expect(catalog.length).toBeGreaterThan(DOCS_MODELS.length);
  });

  it('has a schema that refuses a broken catalog', () => {
    const broken = structuredClone(json);
    delete broken.models[0].name;
    broken.models[1].recommendedFor = ['everything'];
    broken.models[2].pricing.input = -1;
    const problems = validate('catalog', broken).map((p) => p.path);
    expect(problems).toEqual(expect.arrayContaining(['/models/0/name', '/models/1/recommendedFor/0', '/models/2/pricing/input']));
  });

  it('ships in dist/ next to the compiled loader', () => {
    expect(fs.existsSync(path.join(ROOT, 'dist', 'chutes', 'models', 'catalog.json'))).toBe(true);
    expect(fs.existsSync(path.join(ROOT, 'dist', 'chutes', 'models', 'catalog.js'))).toBe(true);
  });
});

describe('the models fixtures', () => {
  const files = fs.readdirSync(CASSETTES).filter((f) => /^models-.*\.json$/.test(f));

  it.each(files)('%s is a valid cassette in the wire shape, without secrets', (name) => {
    const c = readCassetteJson(name);
    expect(validate('cassette', c)).toEqual([]);
    for (const i of c.interactions) {
      expect(i.request.url).toBe('https://llm.chutes.ai/v1/models');
      if (i.response.status === 200 && i.response.json) {
        expect(i.response.json.object).toBe('list');
        expect(Array.isArray(i.response.json.data)).toBe(true);
      }
    }
    expect(fs.readFileSync(path.join(CASSETTES, name), 'utf8')).not.toMatch(/\b(cpk|cak|crt|csc)_|authorization/i);
  });

  it('includes a demo cassette answering any number of times with the docs models among ~10 entries', () => {
    const c = readCassetteJson('models-demo.json');
    expect(c.interactions[0].repeat).toBe(true);
    const ids = liveBody('models-demo.json').data.map((e) => e.id);
    expect(ids.length).toBeGreaterThanOrEqual(10);
    for (const id of DOCS_MODELS) expect(ids).toContain(id);
    expect(readLiveEntries(liveBody('models-demo.json').data).skipped).toEqual([]);
  });
});
