/**
 * The admin API's one router (ADMIN-API.md): a table of routes, bearer authentication before anything else is
 * said (only `GET /healthz` and the web console's files are open), and every failure as
 * `{"error": {"code", "message", "path"}}`. A resource module contributes its routes; a handler returns a status
 * and a JSON body (or, for the console's files, bytes with their headers), or throws an `ApiError`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, sendError, sendJson } from './api-error.js';
import type { BearerAuth } from './bearer-auth.js';
import { readBody } from './request-body.js';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly url: URL;
  /** The token's name (ADMIN-API.md: the actor of the audit log); `undefined` on open routes. */
  readonly actor: string | undefined;
  /** The route's `{name}` segments, decoded (`/v1/blocks/{id}` -> `{ id: 'b-3' }`). */
  readonly params: Readonly<Record<string, string>>;
  /** The body, capped at the router's `maxBodyBytes` (413 past it). */
  body(): Promise<Buffer>;
}

export interface ApiResponse {
  readonly status: number;
  readonly body: unknown;
}

/** A body sent as it is, not as JSON: the web console's files (src/admin/console/). */
export interface FileResponse {
  readonly status: number;
  readonly file: Buffer;
  /** `content-type` and whatever else the file needs (e.g. its Content-Security-Policy). */
  readonly headers: Readonly<Record<string, string>>;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Literal segments, or `{name}` for one segment that becomes `params.name`. */
  readonly path: string;
  /** Only `GET /healthz` (ADMIN-API.md) and the console's files (they hold no data) are open. */
  readonly open?: boolean;
  handle(ctx: RequestContext): Promise<ApiResponse | FileResponse> | ApiResponse | FileResponse;
}

export interface RouterOptions {
  readonly routes: readonly Route[];
  readonly auth: BearerAuth;
  readonly maxBodyBytes: number;
  /** A handler threw something other than an ApiError: a bug, answered 500 `internal`. */
  onInternalError(err: unknown, req: IncomingMessage): void;
}

export function createRouter(o: RouterOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    void dispatch(o, req, res).catch((err: unknown) => {
      if (err instanceof ApiError) return sendError(res, err);
      o.onInternalError(err, req);
      if (!res.headersSent) sendError(res, new ApiError(500, 'internal', 'internal error'));
      else res.destroy();
    });
  };
}

async function dispatch(o: RouterOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin');
  const samePath = o.routes.filter((r) => matchPath(r.path, url.pathname) !== undefined);
  const route = samePath.find((r) => r.method === req.method);
  let actor: string | undefined;
  if (route?.open !== true) {
    // ADMIN-API.md: a missing or wrong token gets 401 and nothing else, not even whether the path exists.
    actor = o.auth.actorOf(req.headers.authorization);
    if (actor === undefined) throw new ApiError(401, 'unauthorized', 'unauthorized');
  }
  if (route === undefined) {
    if (samePath.length > 0) {
      const allow = samePath.map((r) => r.method).join(', ');
      res.setHeader('allow', allow);
      throw new ApiError(
        405,
        'method_not_allowed',
        `${req.method} is not allowed on ${url.pathname} (allowed: ${allow})`,
      );
    }
    throw new ApiError(404, 'not_found', `no resource ${url.pathname}`);
  }
  const params = matchPath(route.path, url.pathname) ?? {};
  const r = await route.handle({ req, url, actor, params, body: () => readBody(req, o.maxBodyBytes) });
  if ('file' in r) {
    res.writeHead(r.status, { ...r.headers, 'content-length': r.file.length });
    res.end(r.file);
  } else sendJson(res, r.status, r.body);
}

/** `pattern`'s parameters when `pathname` matches it segment by segment, else `undefined`. */
export function matchPath(pattern: string, pathname: string): Record<string, string> | undefined {
  if (!pattern.includes('{')) return pattern === pathname ? {} : undefined;
  const want = pattern.split('/');
  const got = pathname.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith('{') && w.endsWith('}')) {
      let v: string;
      try {
        v = decodeURIComponent(g);
      } catch {
        return undefined;
      }
      if (v === '') return undefined;
      params[w.slice(1, -1)] = v;
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}
