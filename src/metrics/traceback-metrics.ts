import { Gauge, type Registry } from 'prom-client';
import { TRACEBACK_DROP_REASONS, type TracebackDropReason } from '../traceback/writer.js';
import { FastCounter } from './fast-metrics.js';

/**
 * What the traceback writer reports on each scrape (src/app/traceback-service.ts). Read at scrape time, not
 * one event per record: the writer's counts are plain integers, so recording costs the call path nothing.
 */
export interface TracebackMetricsStats {
  /** Records waiting in memory for the store (queued plus the batch in flight). */
  readonly queued: number;
  /** Records the store committed (0 in a cluster worker: its records are the primary's to store). */
  readonly stored: number;
  readonly dropped: Readonly<Record<TracebackDropReason, number>>;
  /** Records removed by retention. */
  readonly pruned: number;
}

const NONE: TracebackMetricsStats = {
  queued: 0,
  stored: 0,
  dropped: { queue_full: 0, store_error: 0, closed: 0 },
  pruned: 0,
};

/**
 * The `stirgate_traceback_*` series (docs/metrics.md). They exist on every element, at zero when traceback is
 * off; in cluster mode the primary sums its own with every worker's (src/cluster/primary.ts).
 */
export function createTracebackMetrics(
  registry: Registry,
  stats: (() => TracebackMetricsStats) | undefined,
): void {
  const read = stats ?? (() => NONE);
  const stored = new FastCounter(registry, {
    name: 'stirgate_traceback_stored_total',
    help: 'Traceback records (a call, or the end of one) committed to the store.',
  });
  const pruned = new FastCounter(registry, {
    name: 'stirgate_traceback_pruned_total',
    help: 'Traceback records removed by retention (traceback.retention_days).',
  });
  const dropped = new FastCounter(registry, {
    name: 'stirgate_traceback_dropped_total',
    help: 'Traceback records that never reached the store, by reason (queue_full, store_error, closed).',
    labelNames: ['reason'] as const,
  });
  for (const r of TRACEBACK_DROP_REASONS) dropped.add(0, r);
  stored.add(0);
  pruned.add(0);
  const pull = (): void => {
    const s = read();
    stored.set(s.stored);
    pruned.set(s.pruned);
    for (const r of TRACEBACK_DROP_REASONS) dropped.set(s.dropped[r], r);
  };
  stored.beforeCollect = pull;
  pruned.beforeCollect = pull;
  dropped.beforeCollect = pull;
  new Gauge({
    name: 'stirgate_traceback_queued',
    help: 'Traceback records waiting in memory for the store (bounded by traceback.queue_max).',
    registers: [registry],
    collect() {
      this.set(read().queued);
    },
  });
}
