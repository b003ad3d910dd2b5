/**
 * Reads one histogram family from a Prometheus text exposition (Stirgate's /metrics) and estimates
 * quantiles between two scrapes, the way Prometheus' histogram_quantile does: linear interpolation
 * inside the bucket that holds the rank. Used to put the element's own histogram next to the probe's.
 */

/** Cumulative bucket counts by upper bound (seconds), summed over every label set of the family. */
export type Buckets = Map<number, number>;

export function parseHistogram(text: string, family: string): Buckets | undefined {
  const buckets: Buckets = new Map();
  const prefix = `${family}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(value)) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    buckets.set(bound, (buckets.get(bound) ?? 0) + value);
  }
  return buckets.size === 0 ? undefined : buckets;
}

/** after - before, bucket by bucket (what happened between two scrapes). */
export function diffBuckets(after: Buckets, before: Buckets | undefined): Buckets {
  const out: Buckets = new Map();
  for (const [le, n] of after) out.set(le, n - (before?.get(le) ?? 0));
  return out;
}

/** Quantile q (0..1) in seconds; NaN when there are no observations. */
export function histogramQuantile(buckets: Buckets, q: number): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? buckets.get(bounds[bounds.length - 1]!) ?? 0;
  if (total <= 0) return Number.NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound)!;
    if (count >= rank) {
      if (!Number.isFinite(bound)) return prevBound;
      const inBucket = count - prevCount;
      return inBucket <= 0 ? bound : prevBound + ((bound - prevBound) * (rank - prevCount)) / inBucket;
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

export async function scrape(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}
