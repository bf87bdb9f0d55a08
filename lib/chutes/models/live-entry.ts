/**
 * Reading one entry of GET /v1/models (in the shape the live API sends) into the facts it states, and nothing
 * more: a field the entry leaves out stays undefined so that the catalog can fill it (merge.ts).
 */

/** What one live entry says about a model; undefined means "not said". */
export interface LiveFacts {
  upstreamId: string;
  /** confidential_compute: the real TEE flag (the -TEE suffix is only a naming habit). */
  tee?: boolean;
  /** context_length when given, else max_model_len (context_length may be the smaller one). */
  contextWindow?: number;
  maxOutputTokens?: number;
  inputModalities?: string[];
  outputModalities?: string[];
  /** supported_features, when the entry has the field (an empty list says "none"). */
  features?: string[];
  pricing: { input?: number; output?: number; cacheRead?: number };
  quantization?: string;
  chuteId?: string;
}

export type LiveEntryOutcome = { ok: true; facts: LiveFacts } | { ok: false; reason: string };

class BadEntry extends Error {}

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** null counts as absent: servers write null for what they do not know. */
function absent(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

function optBool(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (absent(v)) return undefined;
  if (typeof v !== 'boolean') throw new BadEntry(`${key} is not a boolean`);
  return v;
}

/** A token count; 0 is treated as "not said" (no model has a zero window). */
function optCount(o: Obj, key: string): number | undefined {
  const v = o[key];
  if (absent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new BadEntry(`${key} is not a whole number of tokens`);
  return v === 0 ? undefined : v;
}

function optStrings(o: Obj, key: string): string[] | undefined {
  const v = o[key];
  if (absent(v)) return undefined;
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new BadEntry(`${key} is not a list of strings`);
  return [...new Set(v)];
}

function optPrice(o: Obj, key: string, where: string): number | undefined {
  const v = o[key];
  if (absent(v)) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new BadEntry(`${where}.${key} is not a price`);
  return v;
}

/** The secondary `price: {input: {usd}}` shape; read leniently (it only fills gaps of `pricing`). */
function secondaryUsd(price: unknown, key: string): number | undefined {
  if (!isObject(price)) return undefined;
  const p = price[key];
  const usd = isObject(p) ? p.usd : undefined;
  return typeof usd === 'number' && Number.isFinite(usd) && usd >= 0 ? usd : undefined;
}

/**
 * Reads one entry. An entry without a usable id, or with a wrong type in a field that is mapped
 * (confidential_compute, the lengths, modalities, supported_features, pricing), is refused with the
 * reason; fields nobody maps are ignored whatever they hold.
 */
export function readLiveEntry(raw: unknown): LiveEntryOutcome {
  if (!isObject(raw)) return { ok: false, reason: `not an object (${raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw})` };
  const id = raw.id;
  if (typeof id !== 'string' || id.trim() === '') return { ok: false, reason: 'no id' };
  if (/\s/.test(id)) return { ok: false, reason: `id ${JSON.stringify(id)} contains whitespace` };
  try {
    const facts: LiveFacts = { upstreamId: id, pricing: {} };
    const tee = optBool(raw, 'confidential_compute');
    if (tee !== undefined) facts.tee = tee;
    const contextLength = optCount(raw, 'context_length');
    const maxModelLen = optCount(raw, 'max_model_len');
    const window = contextLength ?? maxModelLen;
    if (window !== undefined) facts.contextWindow = window;
    const maxOut = optCount(raw, 'max_output_length');
    if (maxOut !== undefined) facts.maxOutputTokens = maxOut;
    const input = optStrings(raw, 'input_modalities');
    if (input !== undefined) facts.inputModalities = input;
    const output = optStrings(raw, 'output_modalities');
    if (output !== undefined) facts.outputModalities = output;
    const features = optStrings(raw, 'supported_features');
    if (features !== undefined) facts.features = features;

    const pricing = raw.pricing;
    if (!absent(pricing) && !isObject(pricing)) throw new BadEntry('pricing is not an object');
    const p = isObject(pricing) ? pricing : {};
    const inputPrice = optPrice(p, 'prompt', 'pricing') ?? secondaryUsd(raw.price, 'input');
    const outputPrice = optPrice(p, 'completion', 'pricing') ?? secondaryUsd(raw.price, 'output');
    const cachePrice = optPrice(p, 'input_cache_read', 'pricing') ?? secondaryUsd(raw.price, 'input_cache_read');
    if (inputPrice !== undefined) facts.pricing.input = inputPrice;
    if (outputPrice !== undefined) facts.pricing.output = outputPrice;
    if (cachePrice !== undefined) facts.pricing.cacheRead = cachePrice;

    if (typeof raw.quantization === 'string' && raw.quantization !== '') facts.quantization = raw.quantization;
    if (typeof raw.chute_id === 'string' && raw.chute_id !== '') facts.chuteId = raw.chute_id;
    return { ok: true, facts };
  } catch (err) {
    if (err instanceof BadEntry) return { ok: false, reason: err.message };
    throw err;
  }
}

export interface LiveListReading {
  facts: LiveFacts[];
  /** One line per entry left out: refused (with why) or a repeated id. */
  skipped: string[];
}

/** Reads every entry, dropping refused ones and repeated ids (the first occurrence is kept). */
export function readLiveEntries(entries: unknown[]): LiveListReading {
  const facts: LiveFacts[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  entries.forEach((raw, i) => {
    const r = readLiveEntry(raw);
    if (!r.ok) {
      const id = isObject(raw) && typeof raw.id === 'string' ? ` (${raw.id})` : '';
      skipped.push(`entry ${i}${id}: ${r.reason}`);
    } else if (seen.has(r.facts.upstreamId)) {
      skipped.push(`entry ${i} (${r.facts.upstreamId}): repeats an earlier id`);
    } else {
      seen.add(r.facts.upstreamId);
      facts.push(r.facts);
    }
  });
  return { facts, skipped };
}
