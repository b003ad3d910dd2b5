import { LRUCache } from 'lru-cache';

/**
 * Replay detection (RFC 8224 §12.1 / RFC 8225 §10: a PASSporT can be replayed within its freshness window).
 * The key is the JWS signature part: unique per signed token and short.
 */
export interface ReplayStore {
  /** True if `key` was already recorded within its TTL; otherwise records it for `ttlMs` and returns false. */
  seen(key: string, ttlMs: number): boolean | Promise<boolean>;
}

export interface MemoryReplayStoreOptions {
  /** Most keys held; the oldest are dropped first when full (a bounded miss, not a false replay). */
  readonly max: number;
  /** Clock in ms; defaults to performance.now. */
  readonly now?: () => number;
}

/** In-process store on lru-cache. A shared store (Redis) implements the same interface. */
export class MemoryReplayStore implements ReplayStore {
  readonly #cache: LRUCache<string, true>;

  constructor(opts: MemoryReplayStoreOptions) {
    const now = opts.now;
    this.#cache = new LRUCache<string, true>({
      max: opts.max,
      // Per-entry ttl set on each set(); this default only switches TTL tracking on.
      ttl: 60_000,
      // Exact expiry against an injected clock; the default debounces now() with a timer.
      ttlResolution: now === undefined ? 1 : 0,
      ...(now !== undefined ? { perf: { now } } : {}),
    });
  }

  seen(key: string, ttlMs: number): boolean {
    if (this.#cache.has(key)) return true;
    this.#cache.set(key, true, { ttl: Math.max(1, ttlMs) });
    return false;
  }

  get size(): number {
    return this.#cache.size;
  }

  /** Every key held, with the milliseconds it has left (for a cluster worker that starts with an empty copy). */
  entries(): [key: string, ttlMs: number][] {
    const out: [string, number][] = [];
    for (const k of this.#cache.keys()) {
      const left = this.#cache.getRemainingTTL(k);
      if (left > 0) out.push([k, Math.ceil(left)]);
    }
    return out;
  }
}
