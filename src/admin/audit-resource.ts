/** `GET /v1/audit?since=&limit=` (ADMIN-API.md): every change, oldest first from `since`. */
import type { ControlPlane } from '../control/control-plane.js';
import { ApiError } from './api-error.js';
import { auditJson } from './control-json.js';
import { integerIn, type ParamParser, parseQuery } from './query-params.js';
import type { Route } from './router.js';
import { parseTime } from './traceback-request.js';

export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 1000;

const since: ParamParser<number> = (raw) =>
  parseTime(raw, 0) ?? { invalid: `${JSON.stringify(raw)} is not an ISO 8601 time with a zone` };

const AUDIT = { since, limit: integerIn(1, AUDIT_MAX_LIMIT) };

export function auditRoutes(plane: ControlPlane): Route[] {
  return [
    {
      method: 'GET',
      path: '/v1/audit',
      async handle({ url }) {
        const q = parseQuery(url.searchParams, AUDIT);
        if (q instanceof ApiError) throw q;
        const entries = await plane.audit({ since: q.since ?? 0, limit: q.limit ?? AUDIT_DEFAULT_LIMIT });
        return { status: 200, body: { entries: entries.map(auditJson) } };
      },
    },
  ];
}
