import { LRUCache } from 'lru-cache';
import { type CertCacheEvent, stirChannels as channels } from '../stir-events.js';
import type { FetchX5uResult } from './fetch.js';
import type { PreparedCert, TrustStore } from './trust.js';

/**
 * Certificate cache for x5u URLs (ATIS-1000074 §5.3.1 step 3, ATIS-1000080 §6.3.1: verifiers cache STI
 * certificates). One small machine:
 * - one fetch in flight per URL, shared by every caller waiting on it; at most `maxInflight` fetches at
 *   once (a lookup past that fails at once, uncached: a flood of new URLs cannot queue without bound);
 * - TTL = Cache-Control max-age, else Expires, else a default; clamped to [minTtlMs, maxTtlMs] and never
 *   past the path's earliest notAfter;
 * - good certificates and failures live in two separate LRU maps: failures (negative caching, a short
 *   TTL) are bounded by `maxNegative` and evict only each other, so no number of failing URLs can push a
 *   good certificate out (at most `max` of those, evicted only by other good ones);
 * - a stale good entry is served at once while one refresh runs (stale-while-revalidate), and kept when
 *   the refresh fails (stale-if-error, retried after the negative TTL), both for at most `maxStaleMs` past
 *   expiry and never past notAfter;
 * - injected fetch and clock.
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
  /** Most good certificates held (URLs). */
  readonly max?: number;
  /** Most failed URLs remembered; kept apart from the good ones. */
  readonly maxNegative?: number;
  /** Most fetches in flight at once. */
  readonly maxInflight?: number;
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
  maxNegative: 1000,
  maxInflight: 256,
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

/** A good certificate and when to ask its server again (its freshUntilMs, or later after a failed refresh). */
interface GoodSlot {
  readonly entry: CertEntry & { readonly ok: true };
  readonly checkAtMs: number;
}

export class CertCache {
  readonly #good: LRUCache<string, GoodSlot>;
  readonly #negative: LRUCache<string, CertEntry & { readonly ok: false }>;
  readonly #inflight = new Map<string, Promise<CertEntry>>();
  readonly #maxInflight: number;
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
    this.#maxInflight = opts.maxInflight ?? CERT_CACHE_DEFAULTS.maxInflight;
    // Freshness is read from each entry's own times, so neither map needs lru-cache's TTL machinery.
    this.#good = new LRUCache({ max: opts.max ?? CERT_CACHE_DEFAULTS.max });
    this.#negative = new LRUCache({ max: opts.maxNegative ?? CERT_CACHE_DEFAULTS.maxNegative });
  }

  /** Number of fetches started (tests, bench). */
  get fetchCount(): number {
    return this.#fetches;
  }

  /** Good certificates held. */
  get size(): number {
    return this.#good.size;
  }

  /** Failed URLs remembered. */
  get negativeSize(): number {
    return this.#negative.size;
  }

  delete(url: string): void {
    this.#good.delete(url);
    this.#negative.delete(url);
  }

  clear(): void {
    this.#good.clear();
    this.#negative.clear();
  }

  /** The certificate for an x5u URL that already passed the URL policy. Never rejects. */
  async get(url: string): Promise<CertLookup> {
    const known = this.peek(url);
    if (known !== undefined) return known;
    const result = await this.#load(url, this.#good.get(url)?.entry);
    publish('miss');
    return { result, cache: 'miss' };
  }

  /**
   * What `get` answers without waiting: a fresh certificate, a stale one inside its grace (its refresh
   * started in the background), or a remembered failure; undefined when the caller has to wait for a fetch
   * (`get`). Lets a verification with a warm cache finish synchronously.
   */
  peek(url: string): CertLookup | undefined {
    const now = this.#now();
    const slot = this.#good.get(url);
    if (slot !== undefined) {
      const e = slot.entry;
      if (now <= e.freshUntilMs) {
        publish('hit');
        return { result: e, cache: 'hit' };
      }
      if (now <= Math.min(e.freshUntilMs + this.#maxStaleMs, e.cert.notAfterMs)) {
        // Stale-while-revalidate, and stale-if-error until checkAtMs after a failed refresh.
        if (now >= slot.checkAtMs) void this.#load(url, e);
        publish('stale');
        return { result: e, cache: 'hit' };
      }
      // Stale for too long: wait for the refresh.
      return undefined;
    }
    const neg = this.#negative.get(url);
    if (neg !== undefined) {
      if (now <= neg.freshUntilMs) {
        publish('negative_hit', neg.code);
        return { result: neg, cache: 'hit' };
      }
      // A stale failure is not served: the caller waits for the new attempt.
      this.#negative.delete(url);
    }
    return undefined;
  }

  /** The one fetch in flight for `url` (started if none), whose result is stored when it settles. */
  #load(url: string, stale: (CertEntry & { readonly ok: true }) | undefined): Promise<CertEntry> {
    const running = this.#inflight.get(url);
    if (running !== undefined) return running;
    if (this.#inflight.size >= this.#maxInflight) {
      publish('fetch_error', 'cert_fetch_failed');
      return Promise.resolve(
        this.#failure('cert_fetch_failed', `${this.#maxInflight} certificate fetches already in flight`),
      );
    }
    const p = this.#fill(url).then((r) => {
      this.#inflight.delete(url);
      return this.#store(url, r, stale);
    });
    this.#inflight.set(url, p);
    return p;
  }

  /** Keep a fill's outcome: a good entry replaces the old; a failure keeps a still servable one. */
  #store(url: string, r: CertEntry, stale: (CertEntry & { readonly ok: true }) | undefined): CertEntry {
    const now = this.#now();
    if (r.ok) {
      this.#negative.delete(url);
      this.#good.set(url, { entry: r, checkAtMs: r.freshUntilMs });
      return r;
    }
    if (
      stale !== undefined &&
      now <= Math.min(stale.freshUntilMs + this.#maxStaleMs, stale.cert.notAfterMs)
    ) {
      // Stale-if-error: keep the good certificate (its freshUntilMs keeps the bound) and retry soon.
      this.#good.set(url, { entry: stale, checkAtMs: now + this.#negativeTtlMs });
      return stale;
    }
    this.#good.delete(url);
    this.#negative.set(url, r);
    return r;
  }

  #failure(code: CertFailureCode, detail: string): CertEntry & { readonly ok: false } {
    const now = this.#now();
    return { ok: false, code, detail, fetchedAtMs: now, freshUntilMs: now + this.#negativeTtlMs };
  }

  /** Fetch, parse, build the path. Never rejects. */
  async #fill(url: string): Promise<CertEntry> {
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
      return this.#failure(r.code, r.detail);
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
    if (!prepared.ok) return this.#failure(prepared.code, prepared.detail);
    const ttl = this.ttlFor(r.cacheControl, r.expires, prepared.cert.notAfterMs, now);
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
