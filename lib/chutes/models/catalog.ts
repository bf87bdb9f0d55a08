import type { CatalogModel, ModelCatalog } from '../../generated/types';
import { validate } from '../../schema-validation';
// Imported (not read from disk) so that tsc ships it in dist/ next to this module.
import catalogJson from './catalog.json';

let checked: { models: readonly CatalogModel[]; problems: string[] } | undefined;

/**
 * The curated catalog shipped in the package, checked against schemas/catalog.schema.json once.
 * A catalog that fails its schema is a packaging defect (a test guards it); discovery must still
 * work, so it then counts as empty and `problems` says why.
 */
export function curatedCatalog(): { models: readonly CatalogModel[]; problems: string[] } {
  if (!checked) {
    const value: unknown = catalogJson;
    const problems = validate('catalog', value).map((p) => `${p.path || '(root)'} ${p.message}`);
    checked = { models: problems.length ? [] : Object.freeze([...(value as ModelCatalog).models]), problems };
  }
  return checked;
}
