import * as fs from 'node:fs';
import * as path from 'node:path';
import { ALWAYS, errorCodes, methodErrors, providerErrors } from '../../lib/generated/errors';
import { RpcErrorCode } from '../../lib/server/rpc-error';

const ROOT = path.resolve(__dirname, '..', '..');
const table = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'errors.json'), 'utf8'));
const openrpc = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'openrpc.json'), 'utf8'));

describe('the error table (schemas/errors.json)', () => {
  it('gives the server the JSON-RPC codes it answers itself', () => {
    expect(RpcErrorCode).toEqual({
      ParseError: table.protocol.parse_error.code,
      InvalidRequest: table.protocol.invalid_request.code,
      MethodNotFound: table.protocol.method_not_found.code,
      InvalidParams: table.protocol.invalid_params.code,
      InternalError: table.protocol.internal_error.code,
      RequestCancelled: table.protocol.request_cancelled.code,
    });
  });

  it('has one entry per ProviderErrorData.type, each with its resolution', () => {
    const schema = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'defs', 'provider-error-data.schema.json'), 'utf8'));
    expect(Object.keys(providerErrors).sort()).toEqual([...schema.properties.type.enum].sort());
    for (const [type, e] of Object.entries(providerErrors))
      expect({ type, resolution: e.resolution.length > 10 }).toEqual({ type, resolution: true });
  });

  it('is what the OpenRPC document lists for each method: its x-errors plus the errors any request can get', () => {
    for (const m of openrpc.methods) {
      const codes = m.errors.map((e: { code: number }) => e.code).sort();
      const expected = [...ALWAYS, ...(methodErrors[m.name] ?? [])].map((n) => errorCodes[n]).sort();
      expect({ method: m.name, codes }).toEqual({ method: m.name, codes: expected });
    }
  });

  it('is documented: docs/protocol.md has a row for every provider code with its type', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs', 'protocol.md'), 'utf8');
    for (const [type, entry] of Object.entries<{ code: number }>(table.provider)) {
      expect({ type, documented: new RegExp(`\\| ${entry.code} \\| ${type} \\|`).test(doc) }).toEqual({ type, documented: true });
    }
  });

  it('lets chat.stream and chat.complete answer every failure a chat can meet, a failed sign-in refresh included', () => {
    for (const method of ['chat.stream', 'chat.complete']) {
      expect([...(methodErrors[method] ?? [])].sort()).toEqual([...Object.keys(providerErrors)].sort());
    }
  });
});
