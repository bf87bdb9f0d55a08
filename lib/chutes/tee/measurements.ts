/**
 * Reference measurements (rows of /servers/tee/measurements, or a pinned snapshot of them) and the
 * rule a quote must meet: some TDX row whose mrtd and runtime RTMR0-3 all equal the quote's. Hex is
 * compared case-insensitively (an optional 0x is dropped) and RTMR keys in any case (RTMR0, rtmr0).
 */

export interface MeasurementRow {
  name: string;
  version?: string;
  mrtd: string;
  /** RTMR0..RTMR3 by index; a missing one is undefined. */
  rtmrs: Array<string | undefined>;
}

export interface QuoteMeasurement {
  mrTd: Uint8Array;
  rtMrs: readonly Uint8Array[];
}

export type MeasurementOutcome = { ok: true; row: MeasurementRow } | { ok: false; reason: string };

function normHex(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const h = v.trim().replace(/^0x/i, '').toLowerCase();
  return /^[0-9a-f]+$/.test(h) ? h : undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The usable TDX rows of a measurements answer (a JSON array); rows of another tee_type, or
 * without an mrtd, are left out. Unknown fields are ignored.
 */
export function readMeasurementRows(value: unknown): MeasurementRow[] {
  if (!Array.isArray(value)) throw new Error('the reference measurements are not a JSON array of rows');
  const rows: MeasurementRow[] = [];
  value.forEach((raw, i) => {
    if (!isObject(raw)) return;
    if (raw.tee_type !== undefined && raw.tee_type !== null && String(raw.tee_type).toLowerCase() !== 'tdx') return;
    const mrtd = normHex(raw.mrtd);
    if (!mrtd) return;
    const runtime = isObject(raw.runtime_rtmrs) ? raw.runtime_rtmrs : {};
    const byKey = new Map(Object.entries(runtime).map(([k, v]) => [k.toLowerCase(), normHex(v)]));
    const row: MeasurementRow = {
      name: typeof raw.name === 'string' && raw.name ? raw.name : `row ${i}`,
      mrtd,
      rtmrs: [0, 1, 2, 3].map((n) => byKey.get(`rtmr${n}`)),
    };
    if (typeof raw.version === 'string' && raw.version) row.version = raw.version;
    rows.push(row);
  });
  return rows;
}

function label(row: MeasurementRow): string {
  return row.version ? `${row.name} (${row.version})` : row.name;
}

const ZEROS_48 = '0'.repeat(96);

/** Which row the quote matches, or why none does (naming the closest row and the registers that differ). */
export function matchMeasurement(quote: QuoteMeasurement, rows: readonly MeasurementRow[]): MeasurementOutcome {
  if (rows.length === 0) return { ok: false, reason: 'there are no TDX reference measurements to compare with' };
  const mrtd = Buffer.from(quote.mrTd).toString('hex');
  const rtmrs = quote.rtMrs.map((r) => Buffer.from(r).toString('hex'));
  let closest: { row: MeasurementRow; differing: string[] } | undefined;
  for (const row of rows) {
    if (row.mrtd !== mrtd) continue;
    const differing: string[] = [];
    row.rtmrs.forEach((want, n) => {
      if (want === undefined) differing.push(`RTMR${n} (not published)`);
      else if (n === 3 && want === ZEROS_48) differing.push('RTMR3 (published as zeros: unverifiable)');
      else if (want !== rtmrs[n]) differing.push(`RTMR${n}`);
    });
    if (differing.length === 0) return { ok: true, row };
    if (!closest || differing.length < closest.differing.length) closest = { row, differing };
  }
  if (!closest) return { ok: false, reason: `MRTD ${mrtd.slice(0, 16)}... matches none of the ${rows.length} reference rows` };
  return { ok: false, reason: `MRTD matches ${label(closest.row)}, but not ${closest.differing.join(', ')}` };
}
