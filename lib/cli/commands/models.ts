import type { CommandModule } from 'yargs';
import type { DiscoverOptions } from '../../chutes/models/model-source';
import type { Model, ModelsDiscoverResult } from '../../generated/types';
import { type CommandRun, runCommand } from '../command-runner';
import { SETTINGS_OPTIONS } from '../settings';

interface ListArgs {
  'tee-only'?: boolean;
  json?: boolean;
  refresh?: boolean;
}

export const modelsCommand: CommandModule = {
  command: 'models <action>',
  describe: 'work with the models Chutes serves',
  builder: (y) =>
    y
      .command<ListArgs>({
        command: 'list',
        describe: 'list the models (live list merged with the curated catalog): a table, or JSON with --json',
        builder: (yy) =>
          yy.options({
            'tee-only': { type: 'boolean', describe: 'only models running in a TEE (default from the config teeOnly)' },
            json: { type: 'boolean', describe: 'print the models.discover result as JSON' },
            refresh: { type: 'boolean', describe: 'bypass the model cache' },
            ...SETTINGS_OPTIONS,
          }) as never,
        handler: (argv) => runCommand(argv, (run) => listModels(run, argv)),
      })
      .demandCommand(1, 'Give an action: chutes-rpc models list'),
  handler: () => undefined,
};

async function listModels(run: CommandRun, argv: ListArgs): Promise<void> {
  const chutes = run.chutes();
  chutes.requireConfig();
  const opts: DiscoverOptions = { signal: run.signal };
  if (typeof argv['tee-only'] === 'boolean') opts.teeOnly = argv['tee-only'];
  if (argv.refresh) opts.refresh = true;
  const result = await chutes.models.discover(opts);
  if (argv.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    process.stdout.write(formatTable(result.models));
    process.stderr.write(summary(result));
  }
}

function tokens(n: number): string {
  return String(n);
}

function price(n: number | null): string {
  return n === null ? '-' : String(Number(n.toFixed(4)));
}

function capabilities(m: Model): string {
  const c = m.capabilities;
  const names = [
    c.tools && 'tools',
    c.jsonMode && 'json',
    c.structuredOutputs && 'structured',
    c.reasoning && 'reasoning',
    c.vision && 'vision',
  ];
  return names.filter(Boolean).join(',') || '-';
}

/** One line per model, columns padded; a header line first. Every model line contains its chutes/ id. */
export function formatTable(models: readonly Model[]): string {
  const header = ['ID', 'TEE', 'CONTEXT', 'MAX OUT', 'IN $/1M', 'OUT $/1M', 'CAPABILITIES'];
  const rows = models.map((m) => [
    m.id,
    m.tee ? 'yes' : 'no',
    tokens(m.contextWindow),
    tokens(m.maxOutputTokens),
    price(m.pricing.input),
    price(m.pricing.output),
    capabilities(m),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set([2, 3, 4, 5]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function summary(r: ModelsDiscoverResult): string {
  const what = r.source === 'live' ? 'live list' : r.source === 'cache' ? 'cached live list' : 'curated catalog';
  let out = `${r.models.length} model${r.models.length === 1 ? '' : 's'} from the ${what} (fetched ${r.fetchedAt})\n`;
  if (r.warning) out = `warning: ${r.warning}\n${out}`;
  return out;
}
