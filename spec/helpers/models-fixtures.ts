import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './rpc-process';

export const CASSETTES = path.join(ROOT, 'fixtures', 'cassettes');

export function cassettePath(name: string): string {
  return path.join(CASSETTES, name);
}

export function readCassetteJson(name: string): any {
  return JSON.parse(fs.readFileSync(cassettePath(name), 'utf8'));
}

/** The JSON body of the first 200 answer to GET /v1/models in a models cassette. */
export function liveBody(name: string): { object: string; data: any[] } {
  const c = readCassetteJson(name);
  const hit = c.interactions.find((i: any) => i.response.status === 200 && i.response.json !== undefined);
  if (!hit) throw new Error(`${name} has no 200 JSON answer`);
  return hit.response.json;
}

export function liveEntry(name: string, id: string): any {
  const e = liveBody(name).data.find((x: any) => x && typeof x === 'object' && x.id === id);
  if (!e) throw new Error(`${name} has no entry ${id}`);
  return e;
}

/** The models every catalog (and the demo cassette) must have: the ones the Chutes docs name. */
export const DOCS_MODELS = [
  'zai-org/GLM-4.7-Flash',
  'moonshotai/Kimi-K2.5-TEE',
  'deepseek-ai/DeepSeek-V3.2-TEE',
  'Qwen/Qwen3-235B-A22B-Instruct-2507-TEE',
  'mistralai/Mistral-Small-24B-Instruct-2501-TEE',
  'chutesai/Mistral-Small-3.1-24B-Instruct-2503',
  'NousResearch/Hermes-4-14B',
];
