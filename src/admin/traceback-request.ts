/**
 * A traceback search as an operator asks it (`GET /v1/traceback`, `stirgate traceback`): parameters in, one
 * `TracebackQuery` (src/traceback/store.ts) out. The rules the API and the CLI share live here:
 *
 * | kind | parameters | time window |
 * | --- | --- | --- |
 * | origid | `origid` | `from` required, `to` defaults to now |
 * | numbers | `orig`, optional `dest` (canonical E.164: src/stir/tn.ts) | `from` required, `to` defaults to now |
 * | Call-ID | `call_id` (either leg) | none accepted |
 *
 * A window longer than `MAX_WINDOW_MS` is refused (`window_too_large`), as is a number or origid search without
 * `from` (`window_required`): an index range, never a scan of every record.
 */
import { StirgateError } from '../errors.js';
import { canonicalizeTn } from '../stir/tn.js';
import { MAX_QUERY_LIMIT, MAX_QUERY_WINDOW_MS } from '../traceback/query-checks.js';
import type { TracebackQuery } from '../traceback/store.js';

/** The store's caps (src/traceback/query-checks.ts), checked here first to name the parameter at fault. */
export const MAX_WINDOW_MS = MAX_QUERY_WINDOW_MS;
export const MAX_LIMIT = MAX_QUERY_LIMIT;
export const DEFAULT_LIMIT = 100;

export type TracebackRequestErrorCode =
  | 'missing_parameter'
  | 'conflicting_parameters'
  | 'invalid_parameter'
  | 'window_required'
  | 'window_too_large';

/** `path` is the API's parameter name (`call_id`); the CLI shows it as its flag (`--call-id`). */
export class TracebackRequestError extends StirgateError<TracebackRequestErrorCode> {
  readonly path: string;

  constructor(code: TracebackRequestErrorCode, message: string, path: string) {
    super(code, message);
    this.path = path;
  }
}

export interface TracebackParams {
  readonly origid?: string;
  readonly orig?: string;
  readonly dest?: string;
  readonly call_id?: string;
  /** Epoch ms. */
  readonly from?: number;
  readonly to?: number;
  readonly limit?: number;
}

export function tracebackQuery(p: TracebackParams, now: number): TracebackQuery | TracebackRequestError {
  const limit = p.limit ?? DEFAULT_LIMIT;
  const kinds = (['origid', 'orig', 'call_id'] as const).filter((k) => p[k] !== undefined);
  if (kinds.length === 0) {
    if (p.dest !== undefined)
      return new TracebackRequestError('missing_parameter', 'dest needs orig', 'orig');
    return new TracebackRequestError(
      'missing_parameter',
      'give one of origid, orig (and dest) or call_id',
      'orig',
    );
  }
  if (kinds.length > 1) {
    return new TracebackRequestError(
      'conflicting_parameters',
      `give one of origid, orig or call_id, not ${kinds.join(' and ')}`,
      kinds[1]!,
    );
  }
  if (p.dest !== undefined && p.orig === undefined) {
    return new TracebackRequestError('conflicting_parameters', 'dest goes with orig only', 'dest');
  }
  if (p.call_id !== undefined) {
    const extra = p.from !== undefined ? 'from' : p.to !== undefined ? 'to' : undefined;
    if (extra !== undefined) {
      return new TracebackRequestError(
        'conflicting_parameters',
        'a Call-ID search takes no time window',
        extra,
      );
    }
    return { by: 'callId', callId: p.call_id, limit };
  }
  const window = windowOf(p, now);
  if (window instanceof TracebackRequestError) return window;
  if (p.origid !== undefined) return { by: 'origid', origid: p.origid, window, limit };
  const orig = number(p.orig!, 'orig');
  if (orig instanceof TracebackRequestError) return orig;
  if (p.dest === undefined) return { by: 'numbers', orig, window, limit };
  const dest = number(p.dest, 'dest');
  if (dest instanceof TracebackRequestError) return dest;
  return { by: 'numbers', orig, dest, window, limit };
}

function windowOf(p: TracebackParams, now: number): { from: number; to: number } | TracebackRequestError {
  if (p.from === undefined) {
    return new TracebackRequestError(
      'window_required',
      `a number or origid search needs from (and to, default now), at most ${MAX_WINDOW_MS / 86_400_000} days apart`,
      'from',
    );
  }
  const to = p.to ?? now;
  if (to < p.from) return new TracebackRequestError('invalid_parameter', 'to is before from', 'to');
  if (to - p.from > MAX_WINDOW_MS) {
    return new TracebackRequestError(
      'window_too_large',
      `the window from..to is longer than ${MAX_WINDOW_MS / 86_400_000} days: search it in parts`,
      'from',
    );
  }
  return { from: p.from, to };
}

function number(raw: string, path: 'orig' | 'dest'): string | TracebackRequestError {
  return (
    canonicalizeTn(raw) ??
    new TracebackRequestError('invalid_parameter', `${JSON.stringify(raw)} is not a telephone number`, path)
  );
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;
const RELATIVE = /^-(\d{1,6})([smhd])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * An ISO 8601 time: a date (UTC midnight) or a date and time with `Z` or an offset (a time without a zone is
 * ambiguous and refused). With `relative`, also `now` and `-<n><s|m|h|d>` before `now` (the CLI's `--from -2h`).
 */
export function parseTime(text: string, now: number, relative = false): number | undefined {
  if (relative) {
    if (text === 'now') return now;
    const m = RELATIVE.exec(text);
    if (m !== null) return now - Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  if (!ISO_8601.test(text)) return undefined;
  const t = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  return Number.isFinite(t) ? t : undefined;
}
