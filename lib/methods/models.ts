import { defineMethod } from './method';

/** models.discover: params are schema-checked before the call; the shared ModelSource does the work. */
export const modelsDiscover = defineMethod(
  'models.discover',
  (params, { chutes, signal }) => {
    const opts: Parameters<typeof chutes.models.discover>[0] = { signal };
    if (params.teeOnly !== undefined) opts.teeOnly = params.teeOnly;
    if (params.refresh !== undefined) opts.refresh = params.refresh;
    return chutes.models.discover(opts);
  },
  { needsConfig: true, reachesUpstream: true },
);
