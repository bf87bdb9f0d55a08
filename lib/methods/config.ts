import * as path from 'node:path';
import { apiKeyFormatWarnings } from '../config/api-key-format';
import { checkConfigFileAsync, checkConfigText, type ConfigState, resolveConfigValue, validationProblems } from '../config/load';
import type { ConfigValidateParams, ConfigValidateResult } from '../generated/types';
import { defineMethod } from './method';

export const configValidate = defineMethod('config.validate', async (params, { chutes }) => {
  const given = ['config', 'text', 'path'].filter((k) => params[k as keyof ConfigValidateParams] !== undefined);
  if (given.length > 1) {
    return { valid: false, errors: [{ path: '', message: `give one of config, text or path, not ${given.join(' and ')}` }] };
  }
  if (params.config !== undefined) return shape(resolveConfigValue(params.config));
  if (params.text !== undefined) return shape(checkConfigText(params.text));
  if (params.path !== undefined) {
    // A host-supplied path: read asynchronously, a regular file only, size-capped (never a FIFO or /dev/zero).
    const file = path.resolve(params.path);
    return shape(await checkConfigFileAsync(file), file);
  }
  return shape(chutes.configState, chutes.config.path);
});

function shape(state: ConfigState, file?: string): ConfigValidateResult {
  const errors = validationProblems(state);
  const r: ConfigValidateResult = { valid: errors.length === 0, errors };
  if (file) r.path = file;
  const warnings = errors.length ? [] : apiKeyFormatWarnings(state.config);
  if (warnings.length) r.warnings = warnings;
  return r;
}
