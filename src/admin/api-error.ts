import type { ServerResponse } from 'node:http';
import type { ControlErrorCode } from '../control/control-error.js';
import { StirgateError } from '../errors.js';
import type { TracebackQueryErrorCode } from '../traceback/errors.js';
import type { IdentityInputErrorCode } from '../traceback/identity-lookup.js';

/**
 * Every admin API error code (ADMIN-API.md "Errors"; docs/traceback.md lists them). A pasted Identity header
 * that cannot be read answers with the decoder's own code (`jws_bad_json`, `no_identity`, ...), a query the store
 * refuses with the store's (src/traceback/errors.ts).
 */
export type ApiErrorCode =
  | 'unauthorized'
  | 'not_found'
  | 'method_not_allowed'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'unknown_parameter'
  | 'invalid_parameter'
  | 'missing_parameter'
  | 'conflicting_parameters'
  | 'window_required'
  | 'window_too_large'
  | 'internal'
  /** `POST /v1/config/reload` of a file that does not validate: `problems` lists every one. */
  | 'config_invalid'
  | ControlErrorCode
  | IdentityInputErrorCode
  | TracebackQueryErrorCode;

export interface ApiProblem {
  readonly path: string;
  readonly message: string;
  readonly line?: number;
}

/** An answer other than 2xx: `{"error": {"code", "message", "path"}}` with its HTTP status. */
export class ApiError extends StirgateError<ApiErrorCode> {
  readonly status: number;
  readonly path: string | undefined;
  /** `config_invalid`: every problem found, like `stirgate config check`. */
  readonly problems: readonly ApiProblem[] | undefined;

  constructor(
    status: number,
    code: ApiErrorCode,
    message: string,
    path?: string,
    problems?: readonly ApiProblem[],
  ) {
    super(code, message);
    this.status = status;
    this.path = path;
    this.problems = problems;
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  const error = {
    code: err.code,
    message: err.message,
    ...(err.path !== undefined ? { path: err.path } : {}),
    ...(err.problems !== undefined ? { problems: err.problems } : {}),
  };
  // RFC 6750 §3: a 401 names the scheme, and nothing about why.
  const headers: Record<string, string> = err.status === 401 ? { 'www-authenticate': 'Bearer' } : {};
  sendJson(res, err.status, { error }, headers);
}
