import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CertCacheEvent, channels } from '../../../../src/events.js';
import { CertCache, type CertCacheOptions, maxAgeMs } from '../../../../src/stir/certs/cert-cache.js';
import type { FetchX5uResult } from '../../../../src/stir/certs/fetch.js';
import { TrustStore } from '../../../../src/stir/certs/trust.js';
import { createDevPki, type DevPki, issueCertificate } from '../../../../src/stir/pki/dev-pki.js';

const S = 1000;
const H = 3_600_000;
let dir: string;
let pki: DevPki;
let trust: TrustStore;
/** SP chain whose leaf expires in 2 hours. */
let shortLivedChain: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stirgate-cache-'));
  pki = await createDevPki(dir);
  trust = TrustStore.fromPem(pki.caPem);
  const leaf = await issueCertificate({
    issuerCertPem: pki.intermediatePem!,
    issuerKeyPem: pki.intermediateKeyPem!,
    notAfter: new Date(Date.now() + 2 * H),
  });
  shortLivedChain = leaf.certPem + pki.intermediatePem!;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Deferred {
  readonly url: string;
  resolve(r: FetchX5uResult): void;
}

/** A fetch the test answers by hand; counts calls. */
function manualFetch(): { fetch: CertCacheOptions['fetch']; pending: Deferred[]; calls: () => number } {
  const pending: Deferred[] = [];
  let calls = 0;
  return {
    pending,
    calls: () => calls,
    fetch: (url) => {
      calls++;
      return new Promise((resolve) => pending.push({ url: url.href, resolve }));
    },
  };
}

function harness(opts: Partial<CertCacheOptions> = {}, answer?: () => FetchX5uResult) {
  let now = Date.now();
  let calls = 0;
  const cache = new CertCache({
    trust,
    now: () => now,
    minTtlMs: 60 * S,
    maxTtlMs: 24 * H,
    defaultTtlMs: H,
    negativeTtlMs: 10 * S,
    maxStaleMs: H,
    fetch: async () => {
      calls++;
      return (answer ?? (() => ({ ok: true, pem: pki.spChainPem, cacheControl: 'max-age=600' })))();
    },
    ...opts,
  });
  return {
    cache,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
    calls: () => calls,
  };
}

const URL_A = 'https://certs.example.test/a.pem';
const URL_B = 'https://certs.example.test/b.pem';
const flush = () => new Promise<void>((r) => setImmediate(r));

describe('CertCache', () => {
  it('N concurrent lookups on a cold cache share exactly one fetch', async () => {
    const m = manualFetch();
    const h = harness({ fetch: m.fetch });
    const waits = Array.from({ length: 100 }, () => h.cache.get(URL_A));
    await flush();
    expect(m.calls()).toBe(1);
    m.pending[0]!.resolve({ ok: true, pem: pki.spChainPem });
    const results = await Promise.all(waits);
    expect(results.every((r) => r.cache === 'miss' && r.result.ok)).toBe(true);
    expect(new Set(results.map((r) => r.result)).size).toBe(1);
    const again = await h.cache.get(URL_A);
    expect(again.cache).toBe('hit');
    expect(m.calls()).toBe(1);
    expect(h.cache.fetchCount).toBe(1);
  });

  it('a lookup waiting on one URL never blocks another URL', async () => {
    const m = manualFetch();
    const h = harness({ fetch: m.fetch });
    const slow = h.cache.get(URL_A);
    const fast = h.cache.get(URL_B);
    await flush();
    m.pending.find((p) => p.url === URL_B)!.resolve({ ok: true, pem: pki.spChainPem });
    expect((await fast).result.ok).toBe(true);
    let slowDone = false;
    void slow.then(() => {
      slowDone = true;
    });
    await flush();
    expect(slowDone).toBe(false);
    m.pending
      .find((p) => p.url === URL_A)!
      .resolve({ ok: false, code: 'cert_fetch_failed', detail: 'timeout' });
    expect((await slow).result).toMatchObject({ ok: false, code: 'cert_fetch_failed' });
  });

  it('peek answers what get would without waiting, and undefined when only a fetch can answer', async () => {
    const m = manualFetch();
    const h = harness({ fetch: m.fetch });
    expect(h.cache.peek(URL_A)).toBeUndefined(); // cold: nothing to answer, and no fetch started
    expect(m.calls()).toBe(0);
    const first = h.cache.get(URL_A);
    await flush();
    m.pending[0]!.resolve({ ok: true, pem: pki.spChainPem, cacheControl: 'max-age=60' });
    const a = await first;
    expect(h.cache.peek(URL_A)).toEqual({ result: a.result, cache: 'hit' });
    h.advance(61 * S); // stale: answered at once, one refresh started
    expect(h.cache.peek(URL_A)).toEqual({ result: a.result, cache: 'hit' });
    expect(m.calls()).toBe(2);
    // A failure is remembered and answered in place too.
    const failing = h.cache.get(URL_B);
    await flush();
    m.pending.find((p) => p.url === URL_B)!.resolve({ ok: false, code: 'cert_fetch_failed', detail: 'x' });
    await failing;
    expect(h.cache.peek(URL_B)?.result).toMatchObject({ ok: false, code: 'cert_fetch_failed' });
  });

  it('TTL from Cache-Control max-age: hit before, refresh after', async () => {
    const h = harness();
    expect((await h.cache.get(URL_A)).cache).toBe('miss');
    h.advance(599 * S);
    expect((await h.cache.get(URL_A)).cache).toBe('hit');
    expect(h.calls()).toBe(1);
    h.advance(2 * S);
    const stale = await h.cache.get(URL_A);
    expect(stale.cache).toBe('hit'); // served stale at once, refresh in the background
    await flush();
    expect(h.calls()).toBe(2);
  });

  it('the one TTL rule: clamp to floor/ceiling, Expires, default, never past notAfter', () => {
    const h = harness();
    const now = h.now();
    const far = now + 365 * 24 * H;
    expect(h.cache.ttlFor('max-age=5', undefined, far, now)).toBe(60 * S);
    expect(h.cache.ttlFor('public, max-age=600', undefined, far, now)).toBe(600 * S);
    expect(h.cache.ttlFor('max-age=999999999', undefined, far, now)).toBe(24 * H);
    expect(h.cache.ttlFor('no-store', undefined, far, now)).toBe(60 * S);
    const expires = new Date(now + 2 * H).toUTCString(); // whole seconds
    expect(h.cache.ttlFor(undefined, expires, far, now)).toBe(Date.parse(expires) - now);
    expect(h.cache.ttlFor('max-age=120', new Date(now + 2 * H).toUTCString(), far, now)).toBe(120 * S);
    expect(h.cache.ttlFor(undefined, 'garbage', far, now)).toBe(H);
    expect(h.cache.ttlFor(undefined, undefined, far, now)).toBe(H);
    expect(h.cache.ttlFor('max-age=86400', undefined, now + 30 * S, now)).toBe(30 * S);
    expect(h.cache.ttlFor('max-age=86400', undefined, now - 1, now)).toBe(10 * S);
    expect(maxAgeMs('max-age="60"')).toBe(60 * S);
    expect(maxAgeMs('s-maxage=5')).toBeUndefined();
  });

  it('a fill never outlives the leaf notAfter', async () => {
    const h = harness({}, () => ({ ok: true, pem: shortLivedChain, cacheControl: 'max-age=86400' }));
    const r = await h.cache.get(URL_A);
    if (!r.result.ok) throw new Error(r.result.detail);
    const ttl = r.result.freshUntilMs - r.result.fetchedAtMs;
    expect(ttl).toBeLessThanOrEqual(2 * H);
    expect(ttl).toBeGreaterThan(2 * H - 60 * S);
  });

  it('negative caching: a failure is served from memory for negativeTtlMs, then fetched again', async () => {
    const h = harness({}, () => ({ ok: false, code: 'cert_fetch_failed', detail: 'http status 500' }));
    expect(await h.cache.get(URL_A)).toMatchObject({
      cache: 'miss',
      result: { ok: false, code: 'cert_fetch_failed' },
    });
    h.advance(9 * S);
    expect(await h.cache.get(URL_A)).toMatchObject({ cache: 'hit', result: { ok: false } });
    expect(h.calls()).toBe(1);
    h.advance(2 * S);
    // A stale failure is not served: the caller waits for the new attempt.
    expect(await h.cache.get(URL_A)).toMatchObject({ cache: 'miss', result: { ok: false } });
    expect(h.calls()).toBe(2);
  });

  it('path failures (untrusted, no TNAuthList) are negative entries too', async () => {
    const h = harness({}, () => ({ ok: true, pem: 'not a cert' }));
    expect((await h.cache.get(URL_A)).result).toMatchObject({ ok: false, code: 'cert_fetch_failed' });
    const other = harness({ trust: TrustStore.fromPem(pki.spCertPem) });
    const r = await other.cache.get(URL_A);
    expect(r.result).toMatchObject({ ok: false, code: 'cert_untrusted' });
  });

  it('stale-while-refresh: a stale good entry answers at once while one refresh runs', async () => {
    const m = manualFetch();
    const h = harness({ fetch: m.fetch });
    const first = h.cache.get(URL_A);
    await flush();
    m.pending[0]!.resolve({ ok: true, pem: pki.spChainPem, cacheControl: 'max-age=60' });
    const a = await first;
    h.advance(61 * S);
    const stale = await Promise.all([h.cache.get(URL_A), h.cache.get(URL_A), h.cache.get(URL_A)]);
    expect(stale.every((s) => s.cache === 'hit' && s.result === a.result)).toBe(true);
    expect(m.calls()).toBe(2); // one refresh for all three
    m.pending[1]!.resolve({ ok: true, pem: pki.spChainPem, cacheControl: 'max-age=60' });
    await flush();
    const fresh = await h.cache.get(URL_A);
    expect(fresh.cache).toBe('hit');
    expect(fresh.result).not.toBe(a.result);
    expect(m.calls()).toBe(2);
  });

  it('stale-if-error: a failed refresh keeps the good entry, bounded by maxStaleMs', async () => {
    let fail = false;
    const h = harness({}, () =>
      fail
        ? { ok: false, code: 'cert_fetch_failed', detail: 'timeout' }
        : { ok: true, pem: pki.spChainPem, cacheControl: 'max-age=60' },
    );
    const good = await h.cache.get(URL_A);
    fail = true;
    h.advance(61 * S);
    expect((await h.cache.get(URL_A)).result).toBe(good.result); // stale, refresh starts and fails
    await flush();
    expect(h.calls()).toBe(2);
    expect(await h.cache.get(URL_A)).toMatchObject({ cache: 'hit', result: { ok: true } });
    // Past maxStaleMs (1 h after expiry) the failure surfaces.
    h.advance(H + 60 * S);
    const late = await h.cache.get(URL_A);
    expect(late).toMatchObject({ cache: 'miss', result: { ok: false, code: 'cert_fetch_failed' } });
  });

  it('is bounded: max entries, least recently used evicted', async () => {
    const h = harness({ max: 3 });
    for (let i = 0; i < 5; i++) await h.cache.get(`https://certs.example.test/${i}.pem`);
    expect(h.cache.size).toBe(3);
    expect((await h.cache.get('https://certs.example.test/4.pem')).cache).toBe('hit');
    expect((await h.cache.get('https://certs.example.test/0.pem')).cache).toBe('miss');
    expect(h.calls()).toBe(6);
  });

  it('150 distinct failing URLs never evict a warm certificate (negative entries kept apart)', async () => {
    const warm = 'https://certs.example.test/warm.pem';
    // Warm the good entry through a fetch that succeeds, then flood the same cache with failures.
    let failing = false;
    const cache = new CertCache({
      trust,
      max: 100,
      maxNegative: 100,
      fetch: async (url) =>
        failing || url.href !== warm
          ? { ok: false, code: 'cert_fetch_failed', detail: 'http status 500' }
          : { ok: true, pem: pki.spChainPem, cacheControl: 'max-age=3600' },
    });
    expect((await cache.get(warm)).result.ok).toBe(true);
    failing = true;
    const failures = await Promise.all(
      Array.from({ length: 150 }, (_, i) => cache.get(`https://bad.example.test/${i}.pem`)),
    );
    expect(failures.every((f) => f.cache === 'miss' && !f.result.ok)).toBe(true);
    expect(cache.negativeSize).toBe(100); // bounded: the oldest failures evicted each other
    const again = await cache.get(warm);
    expect(again).toMatchObject({ cache: 'hit', result: { ok: true } });
    expect(cache.fetchCount).toBe(151);
    expect(cache.size).toBe(1);
    // The recent failures are still answered from memory.
    expect((await cache.get('https://bad.example.test/149.pem')).cache).toBe('hit');
  });

  it('a good certificate replaces a negative entry for its URL, and a failure evicts no good one', async () => {
    let fail = true;
    const h = harness({ max: 1, maxNegative: 1 }, () =>
      fail
        ? { ok: false, code: 'cert_fetch_failed', detail: 'timeout' }
        : { ok: true, pem: pki.spChainPem, cacheControl: 'max-age=600' },
    );
    expect((await h.cache.get(URL_A)).result.ok).toBe(false);
    expect(h.cache.negativeSize).toBe(1);
    h.advance(11 * S);
    fail = false;
    expect((await h.cache.get(URL_A)).result.ok).toBe(true);
    expect([h.cache.size, h.cache.negativeSize]).toEqual([1, 0]);
    fail = true;
    expect((await h.cache.get(URL_B)).result.ok).toBe(false);
    expect([h.cache.size, h.cache.negativeSize]).toEqual([1, 1]);
    expect(await h.cache.get(URL_A)).toMatchObject({ cache: 'hit', result: { ok: true } });
  });

  it('at most maxInflight fetches at once; a lookup past that fails at once and is not cached', async () => {
    const m = manualFetch();
    const h = harness({ fetch: m.fetch, maxInflight: 2 });
    const a = h.cache.get(URL_A);
    const b = h.cache.get(URL_B);
    const c = await h.cache.get('https://certs.example.test/c.pem');
    expect(c).toMatchObject({ cache: 'miss', result: { ok: false, code: 'cert_fetch_failed' } });
    expect(m.calls()).toBe(2);
    expect(h.cache.negativeSize).toBe(0);
    for (const p of m.pending) p.resolve({ ok: true, pem: pki.spChainPem });
    expect((await a).result.ok && (await b).result.ok).toBe(true);
    const c2 = h.cache.get('https://certs.example.test/c.pem');
    await flush();
    expect(m.calls()).toBe(3);
    m.pending[2]!.resolve({ ok: true, pem: pki.spChainPem });
    expect((await c2).result.ok).toBe(true);
  });

  it('publishes cert_cache events: miss, hit, stale, fetch_error, negative_hit', async () => {
    const events: string[] = [];
    const sub = (m: unknown): void => {
      const e = m as CertCacheEvent;
      events.push(e.code ? `${e.kind}:${e.code}` : e.kind);
    };
    channels.certCache.subscribe(sub);
    try {
      let fail = false;
      const h = harness({}, () =>
        fail
          ? { ok: false, code: 'cert_fetch_failed', detail: 'x' }
          : { ok: true, pem: pki.spChainPem, cacheControl: 'max-age=60' },
      );
      await h.cache.get(URL_A);
      await h.cache.get(URL_A);
      h.advance(61 * S);
      fail = true;
      await h.cache.get(URL_A);
      await flush();
      await h.cache.get(URL_B);
      await h.cache.get(URL_B);
    } finally {
      channels.certCache.unsubscribe(sub);
    }
    // The background refresh may report before the stale answer does: compare as a multiset.
    expect(events.sort()).toEqual(
      [
        'miss', // A cold
        'hit', // A fresh
        'stale', // A stale, refresh fails in the background
        'fetch_error:cert_fetch_failed',
        'fetch_error:cert_fetch_failed', // B cold, fails
        'miss',
        'negative_hit:cert_fetch_failed', // B again, from the negative entry
      ].sort(),
    );
  });
});
