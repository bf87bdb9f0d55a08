import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import fc from 'fast-check';
import type { Framing } from '../../lib/server/framing/frame-decoder';
import { LspDecoder } from '../../lib/server/framing/lsp-decoder';
import { NdjsonDecoder } from '../../lib/server/framing/ndjson-decoder';
import { encodeMessage } from '../../lib/server/framing/stream-writer';
import { BIN, cleanEnv, tempHome } from '../helpers/rpc-process';

/*
 * The protocol fuzzer: random sessions of valid requests, notifications and garbage, in both
 * framings, cut into random pieces. Every request with a valid id gets exactly one reply with
 * that id, each piece of garbage one error reply, the process stays up and exits 0 at end of
 * input, and its memory stays bounded. `npm test` runs a small seeded budget; `npm run fuzz` a
 * larger one (FUZZ_RUNS, FUZZ_SEED to replay a failure).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 4);
const SEED = Number(process.env.FUZZ_SEED ?? 20260110);
const MAX_PEAK_RSS_MIB = 250;

type Id = string | number;
type Item = { kind: 'request'; id: Id; text: object } | { kind: 'notification'; text: object } | { kind: 'garbage'; bytes: Buffer };

const METHODS = ['config.validate', 'initialize', 'auth.status', 'chat.complete', 'shutdown', 'no.such.method', 'cpk_fuzzkey123'];

const params = fc.oneof(
  fc.constant(undefined),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.constant({ config: {} }),
  fc.constant({ messages: [{ role: 'user', content: 'hi' }] }),
);

const request = (id: Id) =>
  fc
    .record({ method: fc.oneof(fc.constantFrom(...METHODS), fc.string({ minLength: 1, maxLength: 12 })), params })
    .map(({ method, params: p }): Item => ({
      kind: 'request',
      id,
      text: p === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params: p },
    }));

const notification = fc.oneof(
  fc
    .record({ id: fc.oneof(fc.integer(), fc.string({ maxLength: 6 })) })
    .map((p): Item => ({ kind: 'notification', text: { jsonrpc: '2.0', method: '$/cancelRequest', params: p } })),
  fc.constant<Item>({ kind: 'notification', text: { jsonrpc: '2.0', method: 'initialized', params: {} } }),
);

/** Bytes that are one message but no valid JSON-RPC object: each earns one error reply (id null). */
function isGarbage(bytes: Buffer): boolean {
  let text = bytes.toString('utf8');
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.trim() === '') return false;
  try {
    const v = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    return v === null || typeof v !== 'object';
  } catch {
    return true;
  }
}

const garbage = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 60 }).map((s) => Buffer.from(s)),
    fc.uint8Array({ minLength: 1, maxLength: 60 }).map((a) => Buffer.from(a)),
    fc.constantFrom('{', '[1,2', '{"jsonrpc":"2.0","id":', 'null', '42', '"str"', '\u2028').map((s) => Buffer.from(s)),
  )
  .map((b) => Buffer.from(b.filter((x) => x !== 0x0a)))
  .filter(isGarbage)
  .map((bytes): Item => ({ kind: 'garbage', bytes }));

const session = fc
  .uniqueArray(fc.oneof(fc.integer({ min: -1e6, max: 1e6 }), fc.string({ maxLength: 10 })), {
    maxLength: 40,
    selector: (id) => JSON.stringify(id),
  })
  .chain((ids) =>
    fc.tuple(
      fc.tuple(...ids.map(request)),
      fc.array(fc.oneof(notification, garbage), { maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 60 }),
    ),
  )
  .chain(([requests, others, cuts]) =>
    fc.shuffledSubarray([...requests, ...others], { minLength: requests.length + others.length }).map((items) => ({ items, cuts })),
  );

function encode(item: Item, framing: Framing): Buffer {
  if (item.kind !== 'garbage') return Buffer.from(encodeMessage(item.text, framing));
  return framing === 'lsp'
    ? Buffer.concat([Buffer.from(`Content-Length: ${item.bytes.length}\r\n\r\n`), item.bytes])
    : Buffer.concat([item.bytes, Buffer.from('\n')]);
}

function peakRssMiB(pid: number): number {
  return Number(/VmHWM:\s*(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

async function run(framing: Framing, items: Item[], cuts: number[]): Promise<void> {
  const input = Buffer.concat(items.map((i) => encode(i, framing)));
  const expected = items.filter((i) => i.kind !== 'notification').length;
  const child = spawn(process.execPath, [BIN, 'serve', '--framing', framing, '--on-eof', 'wait'], {
    env: cleanEnv({ CHUTES_RPC_HOME: tempHome() }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const replies: Array<{ id: Id | null }> = [];
  let onReply = () => undefined as void;
  const sink = { frame: (t: string) => (replies.push(JSON.parse(t)), onReply()), oversize: () => undefined, malformed: () => undefined };
  const decoder = framing === 'lsp' ? new LspDecoder(sink, 1 << 26) : new NdjsonDecoder(sink, 1 << 26);
  child.stdout.on('data', (c: Buffer) => decoder.push(c));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
    let from = 0;
    for (const to of [...points, input.length]) {
      if (to <= from) continue;
      await new Promise<void>((r) => child.stdin.write(input.subarray(from, to), () => r()));
      from = to;
    }
    // Every reply due, before the end of input: then the process is still there to measure.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${replies.length} of ${expected} replies after 15 s; stderr: ${stderr}`)), 15_000);
      onReply = () => void (replies.length >= expected && (clearTimeout(timer), resolve()));
      onReply();
    });
    expect(peakRssMiB(child.pid!)).toBeLessThan(MAX_PEAK_RSS_MIB);
    child.stdin.end();
    expect(await exited).toBe(0);
  } finally {
    child.kill('SIGKILL');
  }
  const count = new Map<string, number>();
  for (const r of replies) count.set(JSON.stringify(r.id), (count.get(JSON.stringify(r.id)) ?? 0) + 1);
  for (const item of items)
    if (item.kind === 'request')
      expect([JSON.stringify(item.id), count.get(JSON.stringify(item.id))]).toEqual([JSON.stringify(item.id), 1]);
  const nulls = items.filter((i) => i.kind === 'garbage').length;
  expect(count.get('null') ?? 0).toBe(nulls);
  expect(replies).toHaveLength(expected);
  expect(stderr).not.toMatch(/cpk_fuzzkey/);
}

describe.each(['ndjson', 'lsp'] as const)('the protocol fuzzer (%s)', (framing) => {
  it(
    `answers every request exactly once over ${RUNS} random sessions (seed ${SEED})`,
    async () => {
      await fc.assert(
        fc.asyncProperty(session, ({ items, cuts }) => run(framing, items, cuts)),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    },
    30_000 + RUNS * 15_000,
  );
});
