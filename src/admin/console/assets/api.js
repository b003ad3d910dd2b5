// The admin API as the console calls it (ADMIN-API.md): every request carries the operator's token, kept in
// sessionStorage (gone with the tab); a 401 signs the operator out; an error answer becomes an ApiFailure with
// the API's own code, message and field path.

const TOKEN_KEY = 'stirgate.admin-token';

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(value) {
  sessionStorage.setItem(TOKEN_KEY, value);
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer other than 2xx: `{"error": {"code", "message", "path"}}`. */
export class ApiFailure extends Error {
  constructor(status, error) {
    super(error.message);
    this.status = status;
    this.code = error.code;
    this.path = error.path;
  }
}

const unauthorizedListeners = [];

/** `fn(message)` runs when the API refuses the token (401). */
export function onUnauthorized(fn) {
  unauthorizedListeners.push(fn);
}

/**
 * `method path` with a JSON body (an object) or a text body (a string, sent as text/plain); resolves with the
 * parsed answer, rejects with an ApiFailure.
 */
export async function call(method, path, body) {
  const headers = { authorization: `Bearer ${token() ?? ''}` };
  let payload;
  if (typeof body === 'string') {
    headers['content-type'] = 'text/plain; charset=utf-8';
    payload = body;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload, cache: 'no-store' });
  const answer = await res.json().catch(() => null);
  if (res.status === 401) {
    signOut();
    for (const fn of unauthorizedListeners) fn('The token was not accepted: sign in again.');
  }
  if (!res.ok) {
    const error = answer?.error ?? { code: 'http', message: `${method} ${path}: HTTP ${res.status}` };
    throw new ApiFailure(res.status, error);
  }
  return answer;
}
