import type { CatalogModel, ModelCatalog } from '../../generated/types';
// Imported (not read from disk) so that tsc ships it in dist/ next to this module.
import catalogJson from './catalog.json';

let models: readonly CatalogModel[] | undefined;

/**
 * The curated catalog shipped in the package. It is not checked here: the build fails when it does
 * not satisfy schemas/catalog.schema.json (scripts/build-schemas.js), and checking it again cost
 * every first chat ~2 ms, the date and URI format checks' modules included.
 */
export function curatedCatalog(): readonly CatalogModel[] {
  models ??= Object.freeze([...(catalogJson as ModelCatalog).models]);
  return models;
}
