/**
 * Building Model objects from the three sources, field by field:
 *   1. the live list (what the API says) wins,
 *   2. the curated catalog fills what the live entry leaves out,
 *   3. a config `models` entry (ConfigModelEntry, OpenClaw shape) overrides both: it is the user's
 *      explicit choice. One exception: `tee` never contradicts the live confidential_compute flag,
 *      because a TEE claim decides where prompts may go.
 *
 * Which models are listed: when the live list is available it decides (catalog-only models are left
 * out: the live list says what is actually served); config entries are always added (completed by
 * the catalog when it knows them). Without the live list (fallback), the catalog plus the config
 * entries are listed.
 */
import type { AttestationSummary, CatalogModel, ConfigModelEntry, Model } from '../../generated/types';
import type { LiveFacts } from './live-entry';
import { MODEL_ID_PREFIX, stripModelPrefix } from './model-id';

/** maxOutputTokens when neither the live list, the catalog nor the config says: min(this, contextWindow). */
export const DEFAULT_MAX_OUTPUT_TOKENS = 8192;
/** contextWindow when nothing says (an entry with neither context_length nor max_model_len). */
export const DEFAULT_CONTEXT_WINDOW = 32768;
export const PRICE_UNIT = 'USD per 1M tokens' as const;

/** The id a config entry names, without the chutes/ prefix OpenClaw model refs carry. */
export function configEntryUpstreamId(entry: ConfigModelEntry): string {
  return stripModelPrefix(entry.id);
}

/** A readable name from an upstream id: "Qwen/Qwen3-32B-TEE" gives "Qwen3 32B TEE". */
export function deriveName(upstreamId: string): string {
  const base = upstreamId.split('/').filter(Boolean).pop() ?? upstreamId;
  const name = base.replace(/[-_]+/g, ' ').replace(/\s+/g, ' ').trim();
  return name || upstreamId;
}

function featureSet(facts: LiveFacts | undefined): Set<string> | undefined {
  return facts?.features ? new Set(facts.features.map((f) => f.toLowerCase())) : undefined;
}

/** One Model from whatever sources know it; at least one must be given. */
export function buildModel(facts: LiveFacts | undefined, catalog: CatalogModel | undefined, config: ConfigModelEntry | undefined): Model {
  const upstreamId = facts?.upstreamId ?? catalog?.upstreamId ?? (config ? configEntryUpstreamId(config) : undefined);
  if (!upstreamId) throw new Error('buildModel needs at least one source');

  const contextWindow = config?.contextWindow ?? facts?.contextWindow ?? catalog?.contextWindow ?? DEFAULT_CONTEXT_WINDOW;
  // A catalog value may come from a larger deployment than the live window: never more than the window.
  const maxOutputTokens =
    config?.maxTokens ??
    facts?.maxOutputTokens ??
    (catalog?.maxOutputTokens !== undefined
      ? Math.min(catalog.maxOutputTokens, contextWindow)
      : Math.min(DEFAULT_MAX_OUTPUT_TOKENS, contextWindow));
  const inputModalities = [...(config?.input ?? facts?.inputModalities ?? catalog?.inputModalities ?? ['text'])];
  const features = featureSet(facts);
  const has = (feature: string, fromCatalog: boolean | undefined) => (features ? features.has(feature) : (fromCatalog ?? false));

  const model: Model = {
    id: MODEL_ID_PREFIX + upstreamId,
    upstreamId,
    name: config?.name ?? catalog?.name ?? deriveName(upstreamId),
    tee: facts?.tee ?? config?.tee ?? catalog?.tee ?? false,
    contextWindow,
    maxOutputTokens,
    inputModalities,
    capabilities: {
      tools: has('tools', catalog?.capabilities.tools),
      jsonMode: has('json_mode', catalog?.capabilities.jsonMode),
      structuredOutputs: has('structured_outputs', catalog?.capabilities.structuredOutputs),
      reasoning: config?.reasoning ?? has('reasoning', catalog?.capabilities.reasoning),
      // Vision means image_url parts are accepted: image input, not video alone.
      vision: inputModalities.includes('image'),
    },
    pricing: {
      input: config?.cost?.input ?? facts?.pricing.input ?? catalog?.pricing.input ?? null,
      output: config?.cost?.output ?? facts?.pricing.output ?? catalog?.pricing.output ?? null,
      cacheRead: config?.cost?.cacheRead ?? facts?.pricing.cacheRead ?? catalog?.pricing.cacheRead ?? null,
      unit: PRICE_UNIT,
    },
    origin: facts ? (catalog ? 'live+catalog' : 'live') : catalog ? 'catalog' : 'config',
  };
  const outputModalities = facts?.outputModalities ?? catalog?.outputModalities;
  if (outputModalities) model.outputModalities = [...outputModalities];
  if (catalog?.recommendedFor?.length) model.recommendedFor = [...catalog.recommendedFor];
  if (facts?.quantization) model.quantization = facts.quantization;
  if (facts?.chuteId) model.chuteId = facts.chuteId;
  return model;
}

function byUpstreamId<T>(items: readonly T[], idOf: (t: T) => string): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) if (!map.has(idOf(item))) map.set(idOf(item), item);
  return map;
}

/**
 * Stable, readable order: by id, case-insensitively by code unit, then exactly. Not localeCompare:
 * its first call starts ICU, which the first chat of a process would wait for (the lookup lists the
 * models) for a list of ASCII ids.
 */
function sortModels(models: Model[]): Model[] {
  const key = new Map(models.map((m) => [m, m.upstreamId.toLowerCase()]));
  return models.sort((a, b) => compare(key.get(a)!, key.get(b)!) || compare(a.upstreamId, b.upstreamId));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The model list: `live` undefined means the live list is unavailable (the catalog is listed
 * instead). Repeated ids in any source keep their first occurrence.
 */
export function mergeModels(
  live: readonly LiveFacts[] | undefined,
  catalog: readonly CatalogModel[],
  config: readonly ConfigModelEntry[],
): Model[] {
  const catalogById = byUpstreamId(catalog, (c) => c.upstreamId);
  const configById = byUpstreamId(config, configEntryUpstreamId);
  const out: Model[] = [];
  const listed = new Set<string>();
  if (live) {
    for (const facts of byUpstreamId(live, (f) => f.upstreamId).values()) {
      out.push(buildModel(facts, catalogById.get(facts.upstreamId), configById.get(facts.upstreamId)));
      listed.add(facts.upstreamId);
    }
  } else {
    for (const c of catalogById.values()) {
      out.push(buildModel(undefined, c, configById.get(c.upstreamId)));
      listed.add(c.upstreamId);
    }
  }
  for (const [id, entry] of configById) {
    if (!listed.has(id)) out.push(buildModel(undefined, catalogById.get(id), entry));
  }
  return sortModels(out);
}

/**
 * The models with the latest TEE verification of their chute attached (copies: merged lists are
 * cached frozen, while verifications come and go).
 */
export function withAttestation(models: readonly Model[], latest: (chuteId: string) => AttestationSummary | undefined): Model[] {
  return models.map((m) => {
    const summary = m.tee && m.chuteId ? latest(m.chuteId) : undefined;
    return summary ? { ...m, attestation: summary } : m;
  });
}
