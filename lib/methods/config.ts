import * as path from 'node:path';
import { checkConfigFileAsync, checkConfigText, resolveConfigValue } from '../config/load';
import type { ConfigValidateParams, ConfigValidateResult } from '../generated/types';
import { defineMethod } from './method';

export const configValidate = defineMethod('config.validate', async (params, { chutes }) => {
  const given = ['config', 'text', 'path'].filter((k) => params[k as keyof ConfigValidateParams] !== undefined);
  if (given.length > 1) {
    return { valid: false, errors: [{ path: '', message: `give one of config, text or path, not ${given.join(' and ')}` }] };
  }
  if (params.config !== undefined) return shape(resolveConfigValue(params.config).problems);
  if (params.text !== undefined) return shape(checkConfigText(params.text).problems);
  if (params.path !== undefined) {
    // A host-supplied path: read asynchronously, a regular file only, size-capped (never a FIFO or /dev/zero).
    const file = path.resolve(params.path);
    return shape((await checkConfigFileAsync(file)).problems, file);
  }
  return shape(chutes.configState.problems, chutes.config.path);
});

function shape(errors: ConfigValidateResult['errors'], file?: string): ConfigValidateResult {
  const r: ConfigValidateResult = { valid: errors.length === 0, errors };
  if (file) r.path = file;
  return r;
}
