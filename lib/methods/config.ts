import * as path from 'node:path';
import { checkConfigFile, checkConfigText, resolveConfigValue, validationProblems } from '../config/load';
import type { ConfigValidateParams, ConfigValidateResult } from '../generated/types';
import { defineMethod } from './method';

export const configValidate = defineMethod('config.validate', (params, { chutes }) => {
  const given = ['config', 'text', 'path'].filter((k) => params[k as keyof ConfigValidateParams] !== undefined);
  if (given.length > 1) {
    return { valid: false, errors: [{ path: '', message: `give one of config, text or path, not ${given.join(' and ')}` }] };
  }
  if (params.config !== undefined) return shape(validationProblems(resolveConfigValue(params.config)));
  if (params.text !== undefined) return shape(validationProblems(checkConfigText(params.text)));
  if (params.path !== undefined) {
    const file = path.resolve(params.path);
    return shape(validationProblems(checkConfigFile(file)), file);
  }
  return shape(validationProblems(chutes.configState), chutes.config.path);
});

function shape(errors: ConfigValidateResult['errors'], file?: string): ConfigValidateResult {
  const r: ConfigValidateResult = { valid: errors.length === 0, errors };
  if (file) r.path = file;
  return r;
}
