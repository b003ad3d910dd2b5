import { LRUCache } from 'lru-cache';
import { type CertCacheEvent, stirChannels as channels } from '../stir-events.js';
import type { FetchX5uResult } from './fetch.js';
import type { PreparedCert, TrustStore } from './trust.js';

/**
 * Certificate cache for x5u URLs (ATIS-1000074 §5.3.1 step 3, ATIS-1000080 §6.3.1: verifiers cache STI
 * certificates). One small machine on lru-cache's fetchMethod:
 * - one fetch in flight per URL, shared by every caller waiting on it;
 * - TTL = Cache-Control max-age, else Expires, else a default; clamped to [minTtlMs, maxTtlMs] and never
 *   past the path's earliest notAfter;
 * - failures are cached as values with a short TTL (negative caching);
 * - a stale good entry is served at once while one refresh runs (stale-while-revalidate), and kept when
 *   the refresh fails (stale-if-error), both for at most `maxStaleMs` past expiry and never past notAfter;
 * - at most `max` URLs; injected fetch and clock.
 * What is cached is the parsed, path-checked certificate (trust.prepare), so a warm verification costs one
 * signature check plus a few comparisons.
 */

export type CertFailureCode =
  | 'x5u_disallowed'
  | 'cert_fetch_failed'
  | 'cert_untrusted'
  | 'no_tnauthlist'
  | 'cert_expired';

export type CertEntry =
  | {
      readonly ok: true;
      readonly cert: PreparedCert;
      readonly fetchedAtMs: number;
      readonly freshUntilMs: number;
    }
  | {
      readonly ok: false;
      readonly code: CertFailureCode;
      readonly detail: string;
      readonly fetchedAtMs: number;
      readonly freshUntilMs: number;
    };

export interface CertLookup {
  readonly result: CertEntry;
  /** 'hit': answered from memory (fresh, negative or stale); 'miss': waited on a fetch. */
  readonly cache: 'hit' | 'miss';
}

export type X5uFetcher = (url: URL) => Promise<FetchX5uResult>;

export interface CertCacheOptions {
  readonly fetch: X5uFetcher;
  readonly trust: TrustStore;
  /** Most URLs held. */
  readonly max?: number;
  /** TTL when the response says nothing. */
  readonly defaultTtlMs?: number;
  /** Floor and ceiling for a TTL taken from the response. */
  readonly minTtlMs?: number;
  readonly maxTtlMs?: number;
  /** TTL of a cached failure. */
  readonly negativeTtlMs?: number;
  /** How long past expiry a good entry may still be served while refreshing or after a failed refresh. */
  readonly maxStaleMs?: number;
  /** Wall clock in ms since the epoch (compared with notAfter and Expires). Must be > 0. */
  readonly now?: () => number;
}

export const CERT_CACHE_DEFAULTS = Object.freeze({
  max: 1000,
  defaultTtlMs: 3_600_000,
  minTtlMs: 60_000,
  maxTtlMs: 86_400_000,
  negativeTtlMs: 10_000,
  maxStaleMs: 3_600_000,
});

function publish(kind: CertCacheEvent['kind'], code?: CertFailureCode): void {
  if (!channels.certCache.hasSubscribers) return;
  const ev: CertCacheEvent = code === undefined ? { kind } : { kind, code };
  channels.certCache.publish(ev);
}

/** RFC 9111 §5.2.2.1 max-age (seconds) from a Cache-Control value; no-store/no-cache count as 0. */
export function maxAgeMs(cacheControl: string | undefined): number | undefined {
  if (cacheControl === undefined) return undefined;
  let result: number | undefined;
  for (const part of cacheControl.split(',')) {
    const d = part.trim().toLowerCase();
    if (d === 'no-store' || d === 'no-cache') return 0;
    const m = /^max-age\s*=\s*"?(\d{1,10})"?$/.exec(d);
    if (m) result = Number(m[1]) * 1000;
  }
  return result;
}

export class CertCache {
  readonly #lru: LRUCache<string, CertEntry>;
  readonly #fetch: X5uFetcher;
  readonly #trust: TrustStore;
  readonly #now: () => number;
  readonly #defaultTtlMs: number;
  readonly #minTtlMs: number;
  readonly #maxTtlMs: number;
  readonly #negativeTtlMs: number;
  readonly #maxStaleMs: number;
  #fetches = 0;

  constructor(opts: CertCacheOptions) {
    this.#fetch = opts.fetch;
    this.#trust = opts.trust;
    this.#now = opts.now ?? Date.now;
    this.#defaultTtlMs = opts.defaultTtlMs ?? CERT_CACHE_DEFAULTS.defaultTtlMs;
    this.#minTtlMs = opts.minTtlMs ?? CERT_CACHE_DEFAULTS.minTtlMs;
    this.#maxTtlMs = opts.maxTtlMs ?? CERT_CACHE_DEFAULTS.maxTtlMs;
    this.#negativeTtlMs = opts.negativeTtlMs ?? CERT_CACHE_DEFAULTS.negativeTtlMs;
    this.#maxStaleMs = opts.maxStaleMs ?? CERT_CACHE_DEFAULTS.maxStaleMs;
    const now = this.#now;
    this.#lru = new LRUCache<string, CertEntry>({
      max: opts.max ?? CERT_CACHE_DEFAULTS.max,
      // Default only; every fill sets its own ttl from the response.
      ttl: this.#defaultTtlMs,
      // Serve a stale entry at once while one background refresh runs.
      allowStale: true,
      noDeleteOnStaleGet: true,
      // fetchMethod never rejects (failures are values), so no rejection options are needed.
      perf: { now },
      // No debounce timer per lookup; the injected clock is read each time (Date.now is cheap).
      ttlResolution: 0,
      fetchMethod: (url, stale, { options }) => this.#fill(url, stale, options),
    });
  }

  /** Number of fetches started (tests, bench). */
  get fetchCount(): number {
    return this.#fetches;
  }

  get size(): number {
    return this.#lru.size;
  }

  delete(url: string): void {
    this.#lru.delete(url);
  }

  clear(): void {
    this.#lru.clear();
  }

  /** The certificate for an x5u URL that already passed the URL policy. Never rejects. */
  async get(url: string): Promise<CertLookup> {
    // Fast path: a fresh entry, read synchronously (lru-cache's fetch() costs a few µs of promise machinery).
    const quick: LRUCache.Status<string, CertEntry> = {};
    const hit = this.#lru.get(url, { status: quick });
    if (hit !== undefined && quick.get === 'hit') {
      publish(hit.ok ? 'hit' : 'negative_hit', hit.ok ? undefined : hit.code);
      return { result: hit, cache: 'hit' };
    }
    try {
      const status: LRUCache.Status<string, CertEntry> = {};
      let v = await this.#lru.fetch(url, { status });
      let waited = status.fetch === 'miss' || status.fetch === 'refresh' || status.fetch === 'get';
      if ((status.fetch === 'inflight' || status.fetch === 'stale') && !status.returnedStale) waited = true;
      if (v !== undefined && status.returnedStale) {
        // A stale failure, or a good entry stale for too long: wait for the refresh already started.
        if (!v.ok || this.#now() > Math.min(v.freshUntilMs + this.#maxStaleMs, v.cert.notAfterMs)) {
          v = await this.#lru.fetch(url, { allowStale: false });
          waited = true;
        } else {
          publish('stale');
        }
      } else if (!waited && v !== undefined) {
        publish(v.ok ? 'hit' : 'negative_hit', v.ok ? undefined : v.code);
      }
      if (waited) publish('miss');
      if (v === undefined) {
        return { result: this.#failure('cert_fetch_failed', 'cache returned no value'), cache: 'miss' };
      }
      return { result: v, cache: waited ? 'miss' : 'hit' };
    } catch (err) {
      return {
        result: this.#failure(
          'cert_fetch_failed',
          `cache: ${err instanceof Error ? err.message : String(err)}`,
        ),
        cache: 'miss',
      };
    }
  }

  #failure(code: CertFailureCode, detail: string): CertEntry {
    const now = this.#now();
    return { ok: false, code, detail, fetchedAtMs: now, freshUntilMs: now + this.#negativeTtlMs };
  }

  /** fetchMethod: fetch, parse, build the path; set this entry's ttl on `options`. Never rejects. */
  async #fill(url: string, stale: CertEntry | undefined, options: { ttl?: number }): Promise<CertEntry> {
    this.#fetches++;
    let r: FetchX5uResult;
    try {
      r = await this.#fetch(new URL(url));
    } catch (err) {
      r = { ok: false, code: 'cert_fetch_failed', detail: err instanceof Error ? err.message : String(err) };
    }
    const now = this.#now();
    if (!r.ok) {
      publish('fetch_error', r.code);
      // Stale-if-error: keep a good certificate (unchanged freshUntilMs keeps the bound) and retry soon.
      if (stale?.ok && now <= Math.min(stale.freshUntilMs + this.#maxStaleMs, stale.cert.notAfterMs)) {
        options.ttl = this.#negativeTtlMs;
        return stale;
      }
      options.ttl = this.#negativeTtlMs;
      return {
        ok: false,
        code: r.code,
        detail: r.detail,
        fetchedAtMs: now,
        freshUntilMs: now + this.#negativeTtlMs,
      };
    }
    let prepared: ReturnType<TrustStore['prepare']>;
    try {
      prepared = this.#trust.prepare(r.pem);
    } catch (err) {
      prepared = {
        ok: false,
        code: 'cert_untrusted',
        detail: err instanceof Error ? err.message : String(err),
      };
    }
    if (!prepared.ok) {
      options.ttl = this.#negativeTtlMs;
      return {
        ok: false,
        code: prepared.code,
        detail: prepared.detail,
        fetchedAtMs: now,
        freshUntilMs: now + this.#negativeTtlMs,
      };
    }
    const ttl = this.ttlFor(r.cacheControl, r.expires, prepared.cert.notAfterMs, now);
    options.ttl = ttl;
    return { ok: true, cert: prepared.cert, fetchedAtMs: now, freshUntilMs: now + ttl };
  }

  /**
   * The one TTL rule: max-age, else Expires, else default; clamped to [minTtlMs, maxTtlMs]; never past
   * notAfter (an expired path gets the negative TTL so a renewed certificate is picked up soon).
   */
  ttlFor(
    cacheControl: string | undefined,
    expires: string | undefined,
    notAfterMs: number,
    now: number,
  ): number {
    let ttl = maxAgeMs(cacheControl);
    if (ttl === undefined && expires !== undefined) {
      const at = Date.parse(expires);
      if (!Number.isNaN(at)) ttl = at - now;
    }
    ttl ??= this.#defaultTtlMs;
    ttl = Math.min(Math.max(ttl, this.#minTtlMs), this.#maxTtlMs);
    const untilNotAfter = notAfterMs - now;
    if (untilNotAfter <= 0) return this.#negativeTtlMs;
    return Math.max(1, Math.min(ttl, untilNotAfter));
  }
}
