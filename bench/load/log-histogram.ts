/**
 * A fixed-size log-linear histogram of durations for the load bench: buckets grow by 2 % from 100 ns to
 * 100 s, so any percentile is read to within ±1 % with ~1,050 counters, whatever the number of samples.
 * Recording is one Math.log and an array increment: cheap enough to run inside the element under test
 * (element-probe.ts) without moving what it measures.
 */

const MIN_NS = 100;
const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(100e9 / MIN_NS) / LOG_GROWTH) + 2;

/** Percentiles and count of one histogram, in microseconds (what the report prints). */
export interface HistogramSummary {
  readonly count: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly meanUs: number;
}

/**
 * A histogram's raw state, as JSON (element-probe.ts `/snapshot`): the non-empty buckets as
 * `[index, count]` pairs, the count, the sum and the maximum. Histograms of several processes (cluster
 * workers) merge exactly: same buckets, counts added.
 */
export interface HistogramData {
  readonly buckets: readonly (readonly [number, number])[];
  readonly count: number;
  readonly sumNs: number;
  readonly maxNs: number;
}

export class LogHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sumNs = 0;
  #maxNs = 0;

  /** Record one duration in nanoseconds. */
  record(ns: number): void {
    const i = ns <= MIN_NS ? 0 : Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(ns / MIN_NS) / LOG_GROWTH));
    this.#counts[i]!++;
    this.#count++;
    this.#sumNs += ns;
    if (ns > this.#maxNs) this.#maxNs = ns;
  }

  /** Add another histogram's samples (its raw state, `data()` of this or another process). */
  merge(d: HistogramData): void {
    for (const [i, n] of d.buckets) if (i >= 0 && i < BUCKETS) this.#counts[i]! += n;
    this.#count += d.count;
    this.#sumNs += d.sumNs;
    if (d.maxNs > this.#maxNs) this.#maxNs = d.maxNs;
  }

  /** The raw state (non-empty buckets only), for merging elsewhere. */
  data(): HistogramData {
    const buckets: [number, number][] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.#counts[i]! > 0) buckets.push([i, this.#counts[i]!]);
    return { buckets, count: this.#count, sumNs: this.#sumNs, maxNs: this.#maxNs };
  }

  /** One histogram holding the samples of all of `parts`. */
  static merged(parts: readonly HistogramData[]): LogHistogram {
    const h = new LogHistogram();
    for (const d of parts) h.merge(d);
    return h;
  }

  get count(): number {
    return this.#count;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sumNs = 0;
    this.#maxNs = 0;
  }

  /** The q-quantile (0 < q <= 1) in nanoseconds: the geometric middle of the bucket holding it; NaN when empty. */
  quantileNs(q: number): number {
    if (this.#count === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) {
        if (i === 0) return MIN_NS;
        const lower = MIN_NS * GROWTH ** (i - 1);
        return Math.min(lower * Math.sqrt(GROWTH), this.#maxNs);
      }
    }
    return this.#maxNs;
  }

  summary(): HistogramSummary {
    const us = (ns: number) => Math.round(ns / 10) / 100;
    return {
      count: this.#count,
      p50Us: us(this.quantileNs(0.5)),
      p90Us: us(this.quantileNs(0.9)),
      p99Us: us(this.quantileNs(0.99)),
      maxUs: us(this.#maxNs),
      meanUs: this.#count === 0 ? Number.NaN : us(this.#sumNs / this.#count),
    };
  }
}

/** Exact q-quantile of an ascending array (nearest rank); NaN when empty. */
export function quantileOfSorted(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[rank - 1]!;
}
