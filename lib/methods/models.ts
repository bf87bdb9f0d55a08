import type { ModelsDiscoverParams, ModelsDiscoverResult } from '../generated/types';
import { defineMethod } from './method';

/** models.discover: params are schema-checked by the dispatcher; the shared ModelSource does the work. */
export const modelsDiscover = defineMethod<ModelsDiscoverParams, ModelsDiscoverResult>({
  name: 'models.discover',
  needsConfig: true,
  handler(params, { app, signal }) {
    const opts: Parameters<ReturnType<typeof app.models>['discover']>[0] = { signal };
    if (params.teeOnly !== undefined) opts.teeOnly = params.teeOnly;
    if (params.refresh !== undefined) opts.refresh = params.refresh;
    return app.models().discover(opts);
  },
});
