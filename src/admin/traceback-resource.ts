/**
 * `GET /v1/traceback` and `POST /v1/traceback/identity` (ADMIN-API.md, docs/traceback.md "Queries"): the search
 * rules are src/admin/traceback-request.ts's, the Identity lookup src/traceback/identity-lookup.ts's.
 */
import { TracebackQueryError, type TracebackQueryErrorCode } from '../traceback/errors.js';
import { IdentityInputError, lookupIdentity } from '../traceback/identity-lookup.js';
import type { TracebackStore } from '../traceback/store.js';
import { ApiError } from './api-error.js';
import { integerIn, type ParamParser, parseQuery, text } from './query-params.js';
import type { Route } from './router.js';
import { identityLookupJson, recordJson } from './traceback-json.js';
import {
  DEFAULT_LIMIT,
  MAX_LIMIT,
  parseTime,
  TracebackRequestError,
  tracebackQuery,
} from './traceback-request.js';

const isoTime: ParamParser<number> = (raw) =>
  parseTime(raw, 0) ?? {
    invalid: `${JSON.stringify(raw)} is not an ISO 8601 time with a zone (2026-12-07T10:00:00Z)`,
  };

const SEARCH = {
  origid: text(128),
  orig: text(64),
  dest: text(64),
  call_id: text(256),
  from: isoTime,
  to: isoTime,
  limit: integerIn(1, MAX_LIMIT),
};

const IDENTITY = { limit: integerIn(1, MAX_LIMIT) };

/** Content types a pasted header or SIP message may come as (RFC 3261 §7: `message/sip`). */
const TEXT_TYPES = new Set(['text/plain', 'message/sip', 'application/sip']);

/** A query the store refuses (its own caps, src/traceback/query-checks.ts): 400 malformed, 422 too wide. */
const STORE_REFUSAL_STATUS = {
  window_inverted: 400,
  limit_out_of_range: 400,
  window_too_wide: 422,
} as const satisfies Record<TracebackQueryErrorCode, number>;

export function tracebackRoutes(
  backing: Pick<TracebackStore, 'query'>,
  now: () => number = Date.now,
): Route[] {
  const store: Pick<TracebackStore, 'query'> = {
    query: (q) =>
      backing.query(q).catch((err: unknown) => {
        if (err instanceof TracebackQueryError) {
          throw new ApiError(STORE_REFUSAL_STATUS[err.code], err.code, err.message);
        }
        throw err;
      }),
  };
  return [
    {
      method: 'GET',
      path: '/v1/traceback',
      async handle({ url }) {
        const params = parseQuery(url.searchParams, SEARCH);
        if (params instanceof ApiError) throw params;
        const q = tracebackQuery(params, now());
        if (q instanceof TracebackRequestError) throw new ApiError(400, q.code, q.message, q.path);
        const r = await store.query(q);
        return { status: 200, body: { records: r.records.map(recordJson), truncated: r.truncated } };
      },
    },
    {
      method: 'POST',
      path: '/v1/traceback/identity',
      async handle({ req, url, body }) {
        const params = parseQuery(url.searchParams, IDENTITY);
        if (params instanceof ApiError) throw params;
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (!TEXT_TYPES.has(type)) {
          throw new ApiError(
            415,
            'unsupported_media_type',
            'send the Identity header value or the SIP message as text/plain',
          );
        }
        const input = (await body()).toString('utf8');
        const r = await lookupIdentity(input, store, params.limit ?? DEFAULT_LIMIT);
        // Valid text, no readable PASSporT in it: 422 with the decoder's code (ADMIN-API.md "Errors").
        if (r instanceof IdentityInputError) throw new ApiError(422, r.code, r.message, r.path);
        return { status: 200, body: identityLookupJson(r) };
      },
    },
  ];
}
