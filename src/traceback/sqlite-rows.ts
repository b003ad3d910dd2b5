import type { SQLInputValue, SQLOutputValue } from 'node:sqlite';
import type { TracebackCallEvent, TracebackEndEvent } from '../events.js';
import type { TracebackRecord } from './record.js';

/**
 * Between the `stirgate:traceback` events, the `records` table's columns (src/traceback/migrations.ts) and the
 * API's `TracebackRecord`: one column per record field, NULL where the record has null.
 */

/** The columns an INSERT names, in the order `callEventValues` gives them. */
export const RECORD_COLUMNS = [
  'id',
  'time',
  'role',
  'customer',
  'trunk',
  'trunk_role',
  'src_address',
  'src_port',
  'transport',
  'a_call_id',
  'b_call_id',
  'next_hop',
  'calling_received',
  'calling',
  'called_received',
  'called',
  's_attest',
  's_origid',
  's_iat',
  'digest',
  'v_code',
  'v_verstat',
  'v_attest',
  'v_origid',
  'v_iat',
  'v_x5u',
  'v_spc',
  'v_subject',
  'r_status',
  'r_cause',
  'r_detail',
] as const;

export function callEventValues(e: TracebackCallEvent): SQLInputValue[] {
  const s = e.signed;
  const v = e.verified;
  const r = e.refused;
  return [
    e.key,
    e.time,
    e.role,
    e.customer ?? null,
    e.trunk,
    e.trunkRole,
    e.source.address,
    e.source.port,
    e.source.transport,
    e.aCallId,
    e.bCallId ?? null,
    e.nextHop ?? null,
    e.calling.received ?? null,
    e.calling.canonical ?? null,
    e.called.received ?? null,
    e.called.canonical ?? null,
    s?.attest ?? null,
    s?.origid ?? null,
    s?.iat ?? null,
    s?.digest ?? null,
    v?.code ?? null,
    v?.verstat ?? null,
    v?.attest ?? null,
    v?.origid ?? null,
    v?.iat ?? null,
    v?.x5u ?? null,
    v?.spc ?? null,
    v?.subject ?? null,
    r?.status ?? null,
    r?.cause ?? null,
    r?.detail ?? null,
  ];
}

/** The end columns in the order of `endEventValues`: time, answered, status, duration, cause, b-leg, hop. */
export function endEventValues(e: TracebackEndEvent): SQLInputValue[] {
  return [
    e.time,
    e.answered ? 1 : 0,
    e.status ?? null,
    e.durationMs ?? null,
    e.cause,
    e.bCallId ?? null,
    e.nextHop ?? null,
  ];
}

type Row = Record<string, SQLOutputValue>;

const str = (v: SQLOutputValue | undefined): string | null => (typeof v === 'string' ? v : null);
const num = (v: SQLOutputValue | undefined): number | null => (typeof v === 'number' ? v : null);

/** A `records` row (every column selected) as the API's record. Values were written by `callEventValues`. */
export function recordOf(row: Row): TracebackRecord {
  return {
    id: row['id'] as string,
    time: row['time'] as number,
    role: row['role'] as TracebackRecord['role'],
    customer: str(row['customer']),
    trunk: row['trunk'] as string,
    trunkRole: row['trunk_role'] as TracebackRecord['trunkRole'],
    source: {
      address: row['src_address'] as string,
      port: row['src_port'] as number,
      transport: row['transport'] as TracebackRecord['source']['transport'],
    },
    callId: row['a_call_id'] as string,
    bCallId: str(row['b_call_id']),
    nextHop: str(row['next_hop']),
    calling: { received: str(row['calling_received']), canonical: str(row['calling']) },
    called: { received: str(row['called_received']), canonical: str(row['called']) },
    signed:
      row['s_attest'] === null
        ? null
        : {
            attest: row['s_attest'] as 'A' | 'B' | 'C',
            origid: row['s_origid'] as string,
            iat: row['s_iat'] as number,
            digest: row['digest'] as string,
          },
    verified:
      row['v_code'] === null
        ? null
        : {
            code: row['v_code'] as NonNullable<TracebackRecord['verified']>['code'],
            verstat: row['v_verstat'] as NonNullable<TracebackRecord['verified']>['verstat'],
            attest: str(row['v_attest']),
            origid: str(row['v_origid']),
            iat: num(row['v_iat']),
            x5u: str(row['v_x5u']),
            spc: str(row['v_spc']),
            subject: str(row['v_subject']),
          },
    refused:
      row['r_status'] === null
        ? null
        : {
            status: row['r_status'] as number,
            cause: row['r_cause'] as NonNullable<TracebackRecord['refused']>['cause'],
            detail: str(row['r_detail']),
          },
    end:
      row['end_time'] === null
        ? null
        : {
            time: row['end_time'] as number,
            answered: row['answered'] === 1,
            status: num(row['end_status']),
            durationMs: num(row['duration_ms']),
            cause: row['end_cause'] as NonNullable<TracebackRecord['end']>['cause'],
          },
  };
}
