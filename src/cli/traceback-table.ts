/**
 * `stirgate traceback` without `--json`: what a person reads. One row per record, newest first; the columns
 * answer a traceback request (who sent it: customer, trunk, source; which call: numbers, Call-ID; what we did
 * with its identity; who to ask next upstream: the signer's SPC on a verified call).
 */
import type { TracebackRecord } from '../traceback/record.js';

const COLUMNS = [
  'TIME (UTC)',
  'ROLE',
  'CUSTOMER',
  'TRUNK',
  'SOURCE',
  'CALLING',
  'CALLED',
  'IDENTITY',
  'CALL-ID',
  'END',
] as const;

export function recordsTable(records: readonly TracebackRecord[]): string {
  const rows = records.map(row);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(COLUMNS), ...rows.map(line)].join('\n');
}

function row(r: TracebackRecord): string[] {
  return [
    new Date(r.time)
      .toISOString()
      .replace('T', ' ')
      .replace(/\.\d+Z$/, ''),
    r.role,
    r.customer ?? '-',
    r.trunk === '' ? '(no trunk)' : r.trunk,
    `${r.source.transport}:${r.source.address}:${r.source.port}`,
    r.calling.received ?? '-',
    r.called.received ?? '-',
    identity(r),
    r.callId,
    end(r),
  ];
}

function identity(r: TracebackRecord): string {
  if (r.signed !== null) return `signed ${r.signed.attest} origid=${r.signed.origid}`;
  if (r.verified !== null) {
    const v = r.verified;
    const parts = [
      v.code,
      v.attest ?? undefined,
      v.spc !== null ? `spc=${v.spc}` : undefined,
      v.origid !== null ? `origid=${v.origid}` : undefined,
    ];
    return parts.filter((p) => p !== undefined).join(' ');
  }
  if (r.refused !== null) return `refused ${r.refused.status} ${r.refused.cause}`;
  return '-';
}

function end(r: TracebackRecord): string {
  if (r.end === null) return 'in progress';
  const e = r.end;
  if (!e.answered) return `${e.status ?? '-'} ${e.cause}`;
  return `answered ${Math.round((e.durationMs ?? 0) / 1000)}s ${e.cause}`;
}
