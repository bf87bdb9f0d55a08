import type { App } from '../app';
import type { Model, ModelsDiscoverResult } from '../generated/types';

export interface DiscoverOptions {
  teeOnly?: boolean;
  refresh?: boolean;
  signal?: AbortSignal;
}

/**
 * The one shared, cached source of model metadata: models.discover answers from it, and chat
 * asks it whether a model is TEE and what it costs.
 * STUB: filled in by the models.discover issue.
 */
export class ModelSource {
  constructor(protected readonly app: App) {}

  async discover(opts: DiscoverOptions = {}): Promise<ModelsDiscoverResult> {
    void opts;
    return { source: 'catalog', fetchedAt: new Date().toISOString(), models: [] };
  }

  /** Metadata for an upstream model id (bare, without chutes/), from cache or catalog when possible. */
  async lookup(upstreamId: string, opts: { signal?: AbortSignal } = {}): Promise<Model | undefined> {
    void upstreamId;
    void opts;
    return undefined;
  }
}
