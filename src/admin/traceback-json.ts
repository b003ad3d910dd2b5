/**
 * Records and PASSporTs as the API and `stirgate traceback --json` show them: the `TracebackRecord` field names
 * (src/traceback/record.ts), epoch-ms times as ISO 8601. `signed.iat` / `verified.iat` stay PASSporT
 * NumericDates (seconds, RFC 8225 §5.1.1), as in the PASSporT they came from.
 */
import type { DecodedPassport } from '../stir/ppt/index.js';
import type { IdentityLookupResult } from '../traceback/identity-lookup.js';
import type { TracebackRecord } from '../traceback/record.js';

export type TracebackRecordJson = Omit<TracebackRecord, 'time' | 'end'> & {
  readonly time: string;
  readonly end: (Omit<NonNullable<TracebackRecord['end']>, 'time'> & { readonly time: string }) | null;
};

export function recordJson(r: TracebackRecord): TracebackRecordJson {
  return {
    ...r,
    time: new Date(r.time).toISOString(),
    end: r.end === null ? null : { ...r.end, time: new Date(r.end.time).toISOString() },
  };
}

export function passportJson(p: DecodedPassport, digest: string) {
  return {
    ppt: p.ppt ?? null,
    compactForm: p.compactForm,
    digest,
    info: p.info ?? null,
    params: p.params,
    header: p.header,
    claims: p.claims ?? null,
  };
}

/** `POST /v1/traceback/identity`: how it matched, the PASSporT, its records. */
export function identityLookupJson(r: IdentityLookupResult) {
  return {
    matchedBy: r.matchedBy,
    passport: passportJson(r.passport, r.digest),
    ...(r.unsearchable !== undefined
      ? {
          unsearchable: {
            code: r.unsearchable.code,
            message: r.unsearchable.message,
            ...(r.unsearchable.path !== undefined ? { path: r.unsearchable.path } : {}),
          },
        }
      : {}),
    records: r.records.map(recordJson),
    truncated: r.truncated,
  };
}
