import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { checkAddress, checkX5uUrl, type X5uPolicy } from './x5u-policy.js';

/**
 * Dereference an x5u URL (RFC 8224 §6.2.3, ATIS-1000074 §5.3.1 step 3) with an overall deadline, a body
 * cap, and the SSRF gate: the host is resolved first, EVERY resolved address is checked against the x5u
 * policy, and the socket connects to the vetted address through a pinned `lookup`, so a second DNS answer
 * (rebinding) cannot change where the request goes. Redirects are not followed (status must be 200).
 */

export interface LookupAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolve every address of a host (dns.lookup with all: true). Injected in tests. */
export type ResolveAll = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface FetchX5uOptions {
  /** Deadline for DNS + connect + TLS + headers + body. */
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly policy: X5uPolicy;
  readonly lookup?: ResolveAll;
  /** Extra trust anchors for the HTTPS connection (labs). */
  readonly ca?: string | readonly string[];
}

export type FetchX5uResult =
  | { ok: true; pem: string; cacheControl?: string; expires?: string }
  | { ok: false; code: 'x5u_disallowed' | 'cert_fetch_failed'; detail: string };

const defaultResolveAll: ResolveAll = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => {
      if (err) reject(err);
      else resolve(addresses);
    });
  });

/** A `lookup` for http.request that always answers with the one vetted address. */
function pinnedLookup(address: string, family: 4 | 6): LookupFunction {
  return ((_host: string, options: { all?: boolean }, cb: (...args: unknown[]) => void) => {
    // Node 20 net.connect (autoSelectFamily) asks with all: true and wants an array.
    if (options?.all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  }) as unknown as LookupFunction;
}

function headerString(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Fetch a certificate body. Never throws; every failure is a result. */
export async function fetchX5u(url: URL, opts: FetchX5uOptions): Promise<FetchX5uResult> {
  const started = performance.now();
  const remaining = (): number => opts.timeoutMs - (performance.now() - started);
  try {
    const checked = checkX5uUrl(url.href, opts.policy);
    if (!checked.ok) return { ok: false, code: 'x5u_disallowed', detail: checked.reason };
    const u = checked.url;
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;

    let pin: { address: string; family: 4 | 6 };
    const literal = isIP(host);
    if (literal !== 0) {
      pin = { address: host, family: literal as 4 | 6 };
    } else {
      const resolve = opts.lookup ?? defaultResolveAll;
      let addrs: readonly LookupAddress[];
      try {
        addrs = await withDeadline(resolve(host), remaining());
      } catch (err) {
        return { ok: false, code: 'cert_fetch_failed', detail: `dns: ${errText(err)}` };
      }
      if (addrs.length === 0) return { ok: false, code: 'cert_fetch_failed', detail: 'dns: no address' };
      // Every answer must pass: an attacker-controlled zone could mix a public and a private address.
      for (const a of addrs) {
        if (!checkAddress(a.address, opts.policy)) {
          return { ok: false, code: 'x5u_disallowed', detail: `resolved address ${a.address} not allowed` };
        }
      }
      const first = addrs[0]!;
      pin = { address: first.address, family: first.family === 6 ? 6 : 4 };
    }
    const left = remaining();
    if (left <= 0) return { ok: false, code: 'cert_fetch_failed', detail: 'timeout' };
    return await request(u, pin, left, opts);
  } catch (err) {
    return { ok: false, code: 'cert_fetch_failed', detail: errText(err) };
  }
}

function request(
  u: URL,
  pin: { address: string; family: 4 | 6 },
  timeoutMs: number,
  opts: FetchX5uOptions,
): Promise<FetchX5uResult> {
  return new Promise<FetchX5uResult>((resolve) => {
    let done = false;
    const finish = (r: FetchX5uResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const isHttps = u.protocol === 'https:';
    const mod = isHttps ? https : http;
    const reqOpts: https.RequestOptions = {
      method: 'GET',
      host: u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname,
      port: u.port === '' ? (isHttps ? 443 : 80) : Number(u.port),
      path: u.pathname + u.search,
      headers: { accept: 'application/pkix-cert, application/x-pem-file, */*', 'user-agent': 'stirgate' },
      lookup: pinnedLookup(pin.address, pin.family),
      // One connection per fetch: a pooled socket could have been opened to another address.
      agent: false,
    };
    if (isHttps) {
      // SNI and certificate name check use the URL host, not the pinned address.
      if (isIP(reqOpts.host as string) === 0) reqOpts.servername = reqOpts.host as string;
      if (opts.ca !== undefined) reqOpts.ca = typeof opts.ca === 'string' ? opts.ca : [...opts.ca];
    }
    const req = mod.request(reqOpts, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        finish({ ok: false, code: 'cert_fetch_failed', detail: `http status ${res.statusCode}` });
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
        finish({
          ok: false,
          code: 'cert_fetch_failed',
          detail: `body too large (${declared} bytes declared)`,
        });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > opts.maxBodyBytes) {
          finish({
            ok: false,
            code: 'cert_fetch_failed',
            detail: `body too large (> ${opts.maxBodyBytes} bytes)`,
          });
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        const r: { ok: true; pem: string; cacheControl?: string; expires?: string } = {
          ok: true,
          pem: Buffer.concat(chunks, size).toString('latin1'),
        };
        const cc = headerString(res.headers['cache-control']);
        const ex = headerString(res.headers.expires);
        if (cc !== undefined) r.cacheControl = cc;
        if (ex !== undefined) r.expires = ex;
        finish(r);
      });
      res.on('error', (err) => finish({ ok: false, code: 'cert_fetch_failed', detail: errText(err) }));
      res.on('close', () => {
        if (!res.complete) finish({ ok: false, code: 'cert_fetch_failed', detail: 'response aborted' });
      });
    });
    const timer = setTimeout(
      () => finish({ ok: false, code: 'cert_fetch_failed', detail: 'timeout' }),
      timeoutMs,
    );
    req.on('error', (err) => finish({ ok: false, code: 'cert_fetch_failed', detail: errText(err) }));
    req.end();
  });
}

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  if (ms <= 0) return Promise.reject(new Error('timeout'));
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function errText(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== undefined ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
