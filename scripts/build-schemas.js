#!/usr/bin/env node
// Turns schemas/ (the single source of truth) into what the code uses:
//   lib/generated/validators.js  ajv standalone validators (no schema compiling at start-up)
//   lib/generated/types.ts       TypeScript types (json-schema-to-typescript)
//   lib/generated/catalog.ts     nothing else: methods and notifications, in schema order
//   schemas/openrpc.json         the OpenRPC document, rewritten only when it changes
// and fails when the model catalog shipped with the code (lib/chutes/models/catalog.json) does not
// satisfy schemas/catalog.schema.json: the code trusts it as it is.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Ajv = require('ajv').default;
const addFormats = require('ajv-formats').default;
const standaloneCode = require('ajv/dist/standalone').default;

const root = path.resolve(__dirname, '..');
const schemaDir = path.join(root, 'schemas');
const outDir = path.join(root, 'lib', 'generated');
const BASE = 'https://chutes-rpc.local/schemas/';
const version = require(path.join(root, 'package.json')).version;
// Schemas at the top of schemas/ that are not methods or notifications but are validated too.
const ROOT_SCHEMAS = [
  'config.schema.json',
  'cassette.schema.json',
  'catalog.schema.json',
  'credentials.schema.json',
  'conformance-scenario.schema.json',
];

function readSchemas() {
  const files = [];
  for (const sub of ['defs', 'methods', 'notifications']) {
    for (const f of fs.readdirSync(path.join(schemaDir, sub)).sort()) {
      if (f.endsWith('.schema.json')) files.push(`${sub}/${f}`);
    }
  }
  files.push(...ROOT_SCHEMAS);
  return files.map((rel) => ({ rel, schema: JSON.parse(fs.readFileSync(path.join(schemaDir, rel), 'utf8')) }));
}

function newAjv() {
  const ajv = new Ajv({
    allErrors: true,
    strict: true,
    strictRequired: false,
    allowUnionTypes: true,
    discriminator: true,
    useDefaults: false,
    code: { source: true, lines: false, optimize: true },
  });
  addFormats(ajv);
  ajv.addVocabulary(['x-method', 'x-notification', 'x-notifications', 'x-errors']);
  return ajv;
}

function writeAtomically(file, text) {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function exportName(key) {
  return key.replace(/[^A-Za-z0-9]/g, '_');
}

// One small module per schema key, loaded on first use: start-up pays only for what it validates.
function buildValidators(schemas) {
  const ajv = newAjv();
  for (const { rel, schema } of schemas) ajv.addSchema({ ...schema, $id: BASE + rel });
  const refs = {};
  for (const { rel, schema } of schemas) {
    if (schema['x-method']) {
      for (const part of ['params', 'result']) {
        const def = schema.definitions[part];
        // A part that is only a $ref is validated as its target: methods with the same params
        // (chat.stream, chat.complete) then share one validator file.
        const only$ref = def && Object.keys(def).length === 1 && typeof def.$ref === 'string';
        if (def)
          refs[`${part}:${schema['x-method']}`] = only$ref ? new URL(def.$ref, BASE + rel).href : `${BASE}${rel}#/definitions/${part}`;
      }
    } else if (schema['x-notification']) {
      refs[`notification:${schema['x-notification']}`] = BASE + rel;
    }
  }
  for (const name of ROOT_SCHEMAS) refs[name.replace('.schema.json', '')] = BASE + name;
  // The data of every provider error, so that error replies can be checked too.
  refs['provider-error-data'] = `${BASE}defs/provider-error-data.schema.json`;
  // tsc does not copy .js files: the compiled tree gets its own copy. Each file is replaced
  // atomically, so a process starting during a build never loads a missing or half-written one.
  const dirs = [path.join(outDir, 'validators'), path.join(root, 'dist', 'generated', 'validators')];
  // One file per schema: keys with the same target share the file of the first of them.
  const fileByRef = new Map();
  const fileOf = {};
  for (const [key, ref] of Object.entries(refs)) {
    // A shared target is named after its schema (defs/chat-params.schema.json: defs_chat_params).
    const shared = Object.values(refs).filter((r) => r === ref).length > 1;
    if (!fileByRef.has(ref)) fileByRef.set(ref, exportName(shared ? ref.slice(BASE.length).replace('.schema.json', '') : key));
    fileOf[key] = fileByRef.get(ref);
  }
  const wanted = new Set([...fileByRef.values()].map((f) => `${f}.js`));
  for (const dir of dirs) {
    fs.mkdirSync(dir, { recursive: true });
    for (const f of fs.readdirSync(dir)) if (!wanted.has(f)) fs.rmSync(path.join(dir, f), { force: true });
  }
  for (const [ref, file] of fileByRef) {
    const code = standaloneCode(ajv, { validate: ref });
    for (const dir of dirs) writeAtomically(path.join(dir, `${file}.js`), code);
  }
  writeAtomically(
    path.join(outDir, 'validator-keys.ts'),
    `/* Generated by scripts/build-schemas.js from schemas/. Do not edit. */\nexport const validatorFiles = ${JSON.stringify(
      fileOf,
      null,
      2,
    )} as const;\n\nexport type ValidatorKey = keyof typeof validatorFiles;\n`,
  );
}

async function buildTypes(schemas) {
  const { compile } = require('json-schema-to-typescript');
  const properties = {};
  for (const { rel, schema } of schemas) {
    if (schema['x-method']) {
      for (const part of ['params', 'result']) {
        if (schema.definitions[part]) properties[`${schema['x-method']}:${part}`] = { $ref: `${rel}#/definitions/${part}` };
      }
    } else {
      properties[rel] = { $ref: rel };
    }
  }
  const rootSchema = { title: 'SchemaIndex', type: 'object', properties, additionalProperties: false };
  const ts = await compile(rootSchema, 'SchemaIndex', {
    cwd: schemaDir,
    bannerComment: '/* Generated by scripts/build-schemas.js from schemas/. Do not edit. */',
    additionalProperties: false,
    strictIndexSignatures: false,
    format: false,
    declareExternallyReferenced: true,
  });
  writeAtomically(path.join(outDir, 'types.ts'), ts);
}

// ---- OpenRPC ----

function rewriteRefs(value, fromDir) {
  if (Array.isArray(value)) return value.map((v) => rewriteRefs(v, fromDir));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && !v.startsWith('#')) {
        out[k] = path.posix.normalize(path.posix.join(fromDir, v));
      } else if (k === '$schema' || k === 'discriminator') {
        continue;
      } else {
        out[k] = rewriteRefs(v, fromDir);
      }
    }
    return out;
  }
  return value;
}

function resolveLocal(schema, rel, byRel) {
  if (schema && schema.$ref && !schema.$ref.startsWith('#')) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), schema.$ref));
    return { schema: byRel.get(target), rel: target };
  }
  return { schema, rel };
}

const errorTable = JSON.parse(fs.readFileSync(path.join(schemaDir, 'errors.json'), 'utf8'));
/** Every error name of the table (protocol and provider) with its code and OpenRPC message. */
const ERRORS = new Map([
  ...Object.entries(errorTable.protocol).map(([name, e]) => [name, { code: e.code, message: e.message }]),
  ...Object.entries(errorTable.provider).map(([name, e]) => [name, { code: e.code, message: name }]),
]);
/** Every request can be answered with these, whatever its method does (any request can be cancelled). */
const ALWAYS = ['parse_error', 'invalid_request', 'invalid_params', 'internal_error', 'request_cancelled'];

/** Throws when lib/chutes/models/catalog.json does not satisfy its schema. */
function checkShippedCatalog(schemas) {
  const ajv = newAjv();
  for (const { rel, schema } of schemas) ajv.addSchema({ ...schema, $id: BASE + rel });
  const file = path.join(root, 'lib', 'chutes', 'models', 'catalog.json');
  const valid = ajv.validate(`${BASE}catalog.schema.json`, JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!valid) {
    const problems = ajv.errors.map((e) => `${e.instancePath || '(root)'} ${e.message}`).join('; ');
    throw new Error(`${path.relative(root, file)} does not satisfy schemas/catalog.schema.json: ${problems}`);
  }
}

function checkErrorTable(schemas) {
  const data = schemas.find((s) => s.rel === 'defs/provider-error-data.schema.json').schema;
  const enumTypes = JSON.stringify([...data.properties.type.enum].sort());
  const tableTypes = JSON.stringify(Object.keys(errorTable.provider).sort());
  if (enumTypes !== tableTypes)
    throw new Error(`ProviderErrorData.type ${enumTypes} differs from schemas/errors.json provider ${tableTypes}`);
  const codes = [...ERRORS.values()].map((e) => e.code);
  if (new Set(codes).size !== codes.length) throw new Error('schemas/errors.json: two errors share a code');
  for (const { rel, schema } of schemas) {
    for (const name of schema['x-errors'] ?? [])
      if (!ERRORS.has(name)) throw new Error(`${rel}: x-errors names ${name}, which schemas/errors.json does not have`);
  }
}

function buildOpenRpc(schemas) {
  const byRel = new Map(schemas.map(({ rel, schema }) => [rel, schema]));
  const methods = [];
  const notifications = [];
  for (const { rel, schema } of schemas) {
    if (schema['x-method']) {
      const p = resolveLocal(schema.definitions.params, rel, byRel);
      const branches = p.schema.oneOf ?? [p.schema];
      const seen = new Map();
      for (const b of branches) {
        for (const [name, s] of Object.entries(b.properties ?? {})) {
          const required = branches.every((x) => (x.required ?? []).includes(name));
          const prev = seen.get(name);
          const fixed = rewriteRefs(s, path.posix.dirname(p.rel));
          if (!prev) seen.set(name, { name, required, schema: fixed });
          else if (JSON.stringify(prev.schema) !== JSON.stringify(fixed)) prev.schema = { anyOf: [prev.schema, fixed] };
        }
      }
      const m = {
        name: schema['x-method'],
        description: schema.description,
        paramStructure: 'by-name',
        params: [...seen.values()],
      };
      // Alternative shapes that each require something: no one param is required, but params are.
      if (branches.length > 1 && branches.every((b) => (b.required ?? []).length > 0)) m['x-params-required'] = true;
      if (schema.definitions.result) {
        m.result = { name: 'result', schema: rewriteRefs(schema.definitions.result, path.posix.dirname(rel)) };
      }
      if (schema['x-notification']) m['x-notification'] = true;
      if (schema['x-notifications']) m['x-notifications'] = schema['x-notifications'];
      m.errors = [...ALWAYS, ...schema['x-errors']].map((name) => ({ ...ERRORS.get(name), data: { type: name } }));
      methods.push(m);
    } else if (schema['x-notification']) {
      notifications.push({ name: schema['x-notification'], description: schema.description, params: { $ref: rel } });
    }
  }
  // Answered by the JSON-RPC layer (lib/server), not by a method of the table, so it has no schema file.
  methods.push({
    name: '$/cancelRequest',
    description:
      'Notification from the host (as in LSP): cancel the request with this id. A request still running is answered -32800 (with data.partial for a chat); an unknown or finished id is ignored.',
    paramStructure: 'by-name',
    params: [{ name: 'id', required: true, schema: { type: ['integer', 'string'] } }],
    'x-notification': true,
    errors: ALWAYS.map((name) => ({ ...ERRORS.get(name), data: { type: name } })),
  });
  const doc = {
    openrpc: '1.3.2',
    info: {
      title: 'chutes-rpc',
      version,
      description:
        'Chutes AI inference over JSON-RPC 2.0 on stdio (LSP or NDJSON framing). Contract and guide: docs/protocol.md. Every $ref is relative to the URI of this document (schemas/openrpc.json in the chutes-rpc package): the schema files sit beside it.',
    },
    methods,
    'x-notifications': notifications,
    components: { schemas: { Config: { $ref: 'config.schema.json' }, Cassette: { $ref: 'cassette.schema.json' } } },
  };
  return doc;
}

function errorsModule(schemas) {
  const provider = Object.fromEntries(
    Object.entries(errorTable.provider).map(([k, v]) => [k, { retryable: v.retryable, resolution: v.resolution }]),
  );
  const codes = Object.fromEntries([...ERRORS].map(([k, v]) => [k, v.code]));
  const methodErrors = Object.fromEntries(
    schemas.filter((s) => s.schema['x-method']).map((s) => [s.schema['x-method'], s.schema['x-errors']]),
  );
  return `/* Generated by scripts/build-schemas.js from schemas/errors.json. Do not edit. */
import type { ProviderErrorData } from './types';

export type ProviderErrorType = ProviderErrorData['type'];

/** Per provider error type: whether a retry can help by default, and the resolution when none is given. */
export const providerErrors: Readonly<Record<ProviderErrorType, { retryable: boolean; resolution: string }>> = ${JSON.stringify(provider, null, 2)};

export type ErrorName = ${[...ERRORS.keys()].map((k) => JSON.stringify(k)).join(' | ')};

/** The JSON-RPC code of every error name, protocol and provider alike. */
export const errorCodes: Readonly<Record<ErrorName, number>> = ${JSON.stringify(codes, null, 2)};

/** The errors any request can be answered with, whatever its method. */
export const ALWAYS: readonly ErrorName[] = ${JSON.stringify(ALWAYS)};

/** What each method declares it can answer (its x-errors), besides ALWAYS. */
export const methodErrors: Readonly<Record<string, readonly ErrorName[]>> = ${JSON.stringify(methodErrors, null, 2)};
`;
}

// Maps from method and notification names to their TypeScript types, by way of SchemaIndex.
function mapsModule(schemas) {
  const lines = [
    '/* Generated by scripts/build-schemas.js from schemas/. Do not edit. */',
    "import type { SchemaIndex } from './types';",
    '',
  ];
  const methods = schemas.filter((s) => s.schema['x-method'] && !s.schema['x-notification']);
  const clientNotes = schemas.filter((s) => s.schema['x-method'] && s.schema['x-notification']);
  const serverNotes = schemas.filter((s) => !s.schema['x-method'] && s.schema['x-notification']);
  const part = (name, p, s) => (s.schema.definitions[p] ? `Exclude<SchemaIndex['${name}:${p}'], undefined>` : 'null');
  lines.push('/** Every method the server answers: its params and result types. */');
  lines.push('export interface MethodMap {');
  for (const s of methods) {
    const n = s.schema['x-method'];
    lines.push(`  '${n}': { params: ${part(n, 'params', s)}; result: ${part(n, 'result', s)} };`);
  }
  lines.push('}', '');
  lines.push('/** Notifications the host sends. */');
  lines.push('export interface ClientNotificationMap {');
  for (const s of clientNotes) lines.push(`  '${s.schema['x-method']}': ${part(s.schema['x-method'], 'params', s)};`);
  lines.push('}', '');
  lines.push('/** Notifications the server sends: their params types. */');
  lines.push('export interface NotificationMap {');
  for (const s of serverNotes) lines.push(`  '${s.schema['x-notification']}': Exclude<SchemaIndex['${s.rel}'], undefined>;`);
  lines.push('}', '');
  lines.push('export type MethodName = keyof MethodMap;');
  lines.push('export type NotificationName = keyof NotificationMap;');
  return lines.join('\n') + '\n';
}

async function main() {
  const schemas = readSchemas();
  checkErrorTable(schemas);
  checkShippedCatalog(schemas);
  const doc = buildOpenRpc(schemas);
  const text = JSON.stringify(doc, null, 2) + '\n';
  const file = path.join(schemaDir, 'openrpc.json');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (process.argv.includes('--check')) {
    // Writes nothing: says whether the committed OpenRPC document is what the schemas give.
    if (old !== text) {
      process.stderr.write('schemas/openrpc.json is out of date: run npm run build and commit it\n');
      process.exit(1);
    }
    return;
  }
  writeAtomically(file, text);
  fs.mkdirSync(outDir, { recursive: true });
  buildValidators(schemas);
  await buildTypes(schemas);
  const list = {
    methods: doc.methods.filter((m) => !m['x-notification']).map((m) => m.name),
    clientNotifications: doc.methods.filter((m) => m['x-notification']).map((m) => m.name),
    serverNotifications: doc['x-notifications'].map((n) => n.name),
  };
  writeAtomically(
    path.join(outDir, 'catalog.ts'),
    `/* Generated by scripts/build-schemas.js from schemas/. Do not edit. */\nexport const schemaCatalog = ${JSON.stringify(list, null, 2)} as const;\n`,
  );
  writeAtomically(path.join(outDir, 'errors.ts'), errorsModule(schemas));
  writeAtomically(path.join(outDir, 'maps.ts'), mapsModule(schemas));
}

main().catch((err) => {
  process.stderr.write(`build-schemas: ${err.stack || err}\n`);
  process.exit(1);
});
