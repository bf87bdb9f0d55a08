import fc from 'fast-check';
import { parseArgs } from 'node:util';
import { parseServeArgs, SERVE_OPTIONS } from '../../lib/cli/settings';

/** What node:util's parseArgs makes of serve's options, with their choices checked: undefined where it refuses. */
function reference(argv: string[]): Record<string, string | boolean | undefined> | undefined {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.keys(SERVE_OPTIONS).map((k) => [k, { type: 'string' as const }]));
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch {
    return undefined;
  }
  for (const [name, spec] of Object.entries(SERVE_OPTIONS)) {
    const v = values[name];
    if (v !== undefined && 'choices' in spec && !(spec.choices as readonly string[]).includes(String(v))) return undefined;
  }
  return { ...values };
}

const names = Object.keys(SERVE_OPTIONS);
const word = fc.oneof(
  fc.constantFrom('ndjson', 'lsp', 'auto', 'cancel', 'wait', 'debug', '/tmp/x', '', '-', '--', '-x', 'serve'),
  fc.string({ maxLength: 6 }),
);
const token = fc.oneof(
  fc.constantFrom(...names).map((n) => `--${n}`),
  fc.tuple(fc.constantFrom(...names), word).map(([n, v]) => `--${n}=${v}`),
  fc.constantFrom('--help', '--version', '-h', '--framing-x', '--unknown=1'),
  word,
);

describe('parseServeArgs (the serve fast path, without yargs)', () => {
  it('reads --name value and --name=value, keeping the last of a repeated option', () => {
    expect(parseServeArgs(['--framing', 'lsp', '--on-eof=wait', '--framing=ndjson'])).toEqual({ framing: 'ndjson', 'on-eof': 'wait' });
    expect(parseServeArgs([])).toEqual({});
  });

  it('leaves to yargs what it does not fully understand', () => {
    for (const argv of [
      ['--help'],
      ['-h'],
      ['--framing'],
      ['--framing', '--on-eof', 'wait'],
      ['--framing', 'xml'],
      ['serve'],
      ['--nope', '1'],
    ]) {
      expect(parseServeArgs(argv)).toBeUndefined();
    }
  });

  it('agrees with node:util parseArgs wherever it answers', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 6 }), (argv) => {
        const ours = parseServeArgs(argv);
        if (ours !== undefined) expect(ours).toEqual(reference(argv));
      }),
      { numRuns: 2000 },
    );
  });

  it('answers every list of options with plain values, as parseArgs does', () => {
    const value = (name: string) => {
      const spec = SERVE_OPTIONS[name as keyof typeof SERVE_OPTIONS];
      return 'choices' in spec
        ? fc.constantFrom(...spec.choices)
        : fc.array(fc.constantFrom(...'az09/._'), { minLength: 1, maxLength: 8 }).map((cs) => cs.join(''));
    };
    const pair = fc
      .constantFrom(...names)
      .chain((n) => fc.tuple(fc.constant(n), value(n), fc.boolean()))
      .map(([n, v, joined]) => (joined ? [`--${n}=${v}`] : [`--${n}`, v]));
    fc.assert(
      fc.property(fc.array(pair, { maxLength: 5 }), (pairs) => {
        const argv = pairs.flat();
        expect(parseServeArgs(argv)).toEqual(reference(argv));
        expect(parseServeArgs(argv)).toBeDefined();
      }),
      { numRuns: 1000 },
    );
  });
});
