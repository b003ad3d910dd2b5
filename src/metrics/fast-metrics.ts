import type { Registry } from 'prom-client';

/**
 * Counters and histograms for the event path, exposed through a prom-client Registry as custom collectors.
 *
 * Why not prom-client's own Counter/Histogram here: they hash the label object on every update (~400 ns),
 * and these run synchronously inside `channel.publish` on the call path, several times per SIP message. Here an
 * update is up to three Map lookups on the label values passed positionally, no allocation once the label set
 * exists (~30 ns). Text formatting happens only at scrape time, in prom-client. The busiest counts (messages,
 * transactions) are not even events: the call path keeps them (src/sip/message-tally.ts) and a family's
 * `beforeCollect` copies them in at scrape time.
 *
 * Up to three labels per family: every Stirgate family fits (docs/metrics.md).
 */

type Labels = Record<string, string>;

interface CounterCell {
  readonly labels: Labels;
  value: number;
}

interface HistogramCell {
  readonly labels: Labels;
  /** Per-bucket (not cumulative) counts; index buckets.length is +Inf. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/** What prom-client's Registry reads from a metric at scrape time. */
interface MetricValue {
  readonly value: number;
  readonly labels: Labels;
  readonly metricName?: string;
}

interface Collected {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly values: MetricValue[];
  readonly aggregator: 'sum';
}

interface FamilyOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

// Nested maps keyed by label values, one level per label.
type Node<C> = Map<string, C | Node<C>>;

abstract class Family<C> {
  readonly name: string;
  readonly help: string;
  readonly #labelNames: readonly string[];
  readonly #root: Node<C> = new Map();
  #only: C | undefined;
  protected readonly cells: C[] = [];
  /** Called at scrape time before the values are read: families whose counts the call path keeps (pulled). */
  beforeCollect: (() => void) | undefined;

  constructor(registry: Registry, opts: FamilyOptions<string>, type: 'counter' | 'histogram') {
    this.name = opts.name;
    this.help = opts.help;
    this.#labelNames = opts.labelNames ?? [];
    if (this.#labelNames.length > 3) throw new RangeError(`${opts.name}: at most 3 labels`);
    // The shape prom-client's Registry expects of a metric (name/help/type/get).
    registry.registerMetric({
      name: opts.name,
      help: opts.help,
      type,
      aggregator: 'sum',
      get: async (): Promise<Collected> => {
        this.beforeCollect?.();
        return { name: this.name, help: this.help, type, values: this.collect(), aggregator: 'sum' };
      },
    } as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  protected abstract create(labels: Labels): C;
  protected abstract collect(): MetricValue[];

  /** The cell for these label values (positional, in labelNames order); created on first use. */
  protected cell(a: string, b: string, c: string): C {
    const depth = this.#labelNames.length;
    if (depth === 0) {
      this.#only ??= this.#add([]);
      return this.#only;
    }
    const l1 = this.#root.get(a);
    if (depth === 1) return (l1 as C | undefined) ?? this.#insert([a]);
    if (l1 === undefined) return this.#insert(depth === 2 ? [a, b] : [a, b, c]);
    const l2 = (l1 as Node<C>).get(b);
    if (depth === 2) return (l2 as C | undefined) ?? this.#insert([a, b]);
    if (l2 === undefined) return this.#insert([a, b, c]);
    return ((l2 as Node<C>).get(c) as C | undefined) ?? this.#insert([a, b, c]);
  }

  #insert(values: string[]): C {
    const created = this.#add(values);
    let node = this.#root;
    for (let i = 0; i < values.length - 1; i++) {
      let next = node.get(values[i]!) as Node<C> | undefined;
      if (next === undefined) {
        next = new Map();
        node.set(values[i]!, next);
      }
      node = next;
    }
    node.set(values[values.length - 1]!, created);
    return created;
  }

  #add(values: string[]): C {
    const labels: Labels = {};
    this.#labelNames.forEach((n, i) => {
      labels[n] = values[i] ?? '';
    });
    const c = this.create(labels);
    this.cells.push(c);
    return c;
  }
}

export class FastCounter<L extends string = never> extends Family<CounterCell> {
  constructor(registry: Registry, opts: FamilyOptions<L>) {
    super(registry, opts, 'counter');
  }

  /** Add 1 to the series with these label values (in labelNames order). */
  inc(a = '', b = '', c = ''): void {
    this.cell(a, b, c).value++;
  }

  /** Add `by` (>= 0; 0 creates the series at zero). */
  add(by: number, a = '', b = '', c = ''): void {
    this.cell(a, b, c).value += by;
  }

  /** Set the series to a total counted elsewhere (a pulled family, see `beforeCollect`). */
  set(total: number, a = '', b = '', c = ''): void {
    this.cell(a, b, c).value = total;
  }

  protected create(labels: Labels): CounterCell {
    return { labels, value: 0 };
  }

  protected collect(): MetricValue[] {
    return this.cells.map((c) => ({ value: c.value, labels: c.labels }));
  }
}

export class FastHistogram<L extends string = never> extends Family<HistogramCell> {
  readonly #bounds: readonly number[];

  constructor(registry: Registry, opts: FamilyOptions<L> & { readonly buckets: readonly number[] }) {
    super(registry, opts, 'histogram');
    const b = [...opts.buckets];
    for (let i = 1; i < b.length; i++) {
      if (!(b[i]! > b[i - 1]!)) throw new RangeError(`${opts.name}: buckets must increase`);
    }
    this.#bounds = b;
  }

  /** Record one value (seconds) in the series with these label values. */
  observe(value: number, a = '', b = '', c = ''): void {
    if (!Number.isFinite(value)) return;
    const cell = this.cell(a, b, c);
    // Binary search for the first bound >= value (Prometheus `le` is inclusive).
    const bounds = this.#bounds;
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (bounds[mid]! >= value) hi = mid;
      else lo = mid + 1;
    }
    cell.counts[lo]!++;
    cell.sum += value;
    cell.count++;
  }

  /** Create the series at zero. */
  zero(a = '', b = '', c = ''): void {
    this.cell(a, b, c);
  }

  protected create(labels: Labels): HistogramCell {
    return { labels, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
  }

  protected collect(): MetricValue[] {
    const out: MetricValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const cell of this.cells) {
      let acc = 0;
      for (let i = 0; i < this.#bounds.length; i++) {
        acc += cell.counts[i]!;
        out.push({ metricName: bucket, labels: { le: String(this.#bounds[i]), ...cell.labels }, value: acc });
      }
      out.push({ metricName: bucket, labels: { le: '+Inf', ...cell.labels }, value: cell.count });
      out.push({ metricName: `${this.name}_sum`, labels: cell.labels, value: cell.sum });
      out.push({ metricName: `${this.name}_count`, labels: cell.labels, value: cell.count });
    }
    return out;
  }
}
