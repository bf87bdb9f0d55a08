/** What yargs says about the options it knows, as far as a missing value is concerned. */
interface KnownOptions {
  string: string[];
  number: string[];
  alias: Record<string, string[]>;
}

/**
 * The first option that takes a value but was given none (`--replay` at the end of the line,
 * `--replay=`), as a usage problem; undefined when every such option has one. yargs itself takes
 * `--replay` alone as an empty string, and `--max-tokens` alone as undefined.
 */
export function missingValue(parsed: Record<string, unknown>, options: KnownOptions): string | undefined {
  const aliases = new Set(Object.values(options.alias).flat());
  for (const name of [...options.string, ...options.number]) {
    if (aliases.has(name) && name.length === 1) continue;
    if (!Object.prototype.hasOwnProperty.call(parsed, name)) continue;
    const v = parsed[name];
    if (v === undefined || v === '' || (typeof v === 'number' && Number.isNaN(v))) return `--${name} needs a value`;
  }
  return undefined;
}

/** The line after a usage error: where to read how the command is used. */
export function usageHint(argv: readonly string[], commandNames: readonly string[]): string {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
    if (words.length === 2 || !commandNames.includes(a)) break;
  }
  const known = words.length && commandNames.includes(words[0]!) ? words : [];
  if (known.length === 2 && !['models', 'config'].includes(known[0]!)) known.pop();
  return `Run 'chutes-rpc ${known.length ? `${known.join(' ')} ` : ''}--help' for usage.`;
}
