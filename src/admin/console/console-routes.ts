/**
 * The web console's files (docs/operations.md "Web console"): `GET /console` is the page, `GET /console/<name>`
 * its scripts and style, all from src/admin/console/assets/ (the build copies that folder next to this module:
 * package.json `build`). They are read once, asynchronously, when the admin listener starts, and served from
 * memory. The routes are open: the files hold no data, and every API call the page makes carries the
 * operator's token (ADMIN-API.md "Listener and authentication").
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import type { FileResponse, Route } from '../router.js';

/** Where the files are: beside this module, in the source tree and in dist/ alike. */
export const CONSOLE_ASSETS = new URL('./assets/', import.meta.url);

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Nothing but this listener's own files and API (CSP Level 3 `default-src 'self'`): no inline script or style,
 * no external resource. The page's forms submit through fetch, never natively (`form-action 'none'`), and no
 * other site may frame it (`frame-ancestors 'none'`: the Undo button must not be clickjacked).
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // Revalidated on every load, so a new release's page never runs an old release's scripts.
  'cache-control': 'no-cache',
} as const;

/** The page (`index.html`) at `/console`, every other file at `/console/<name>`. */
export async function loadConsoleRoutes(dir: URL = CONSOLE_ASSETS): Promise<Route[]> {
  const names = (await readdir(dir).catch(missing(dir))).filter((n) => CONTENT_TYPES[extname(n)]).sort();
  if (!names.includes('index.html')) throw missing(dir)(new Error('no index.html'));
  return Promise.all(
    names.map(async (name): Promise<Route> => {
      const reply: FileResponse = {
        status: 200,
        file: await readFile(new URL(name, dir)),
        headers: { 'content-type': CONTENT_TYPES[extname(name)]!, ...SECURITY_HEADERS },
      };
      return {
        method: 'GET',
        path: name === 'index.html' ? '/console' : `/console/${name}`,
        open: true,
        handle: () => reply,
      };
    }),
  );
}

function missing(dir: URL): (cause: unknown) => never {
  return (cause) => {
    throw new Error(
      `the web console's files are missing from ${dir.pathname} (npm run build copies them there)`,
      { cause },
    );
  };
}
