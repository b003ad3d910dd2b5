import { Gauge, type Registry } from 'prom-client';
import { FastCounter } from './fast-metrics.js';

/** The overload detector's figures (src/app/overload-detector.ts), read at scrape time. */
export interface OverloadMetricsStats {
  readonly shed: number;
  readonly fraction: number;
  readonly elu: number;
  readonly lagSeconds: number;
  readonly backlog: number;
}

/**
 * Overload control (docs/metrics.md): new INVITEs refused with 503 because the event loop was saturated, the
 * share refused now, and the three signals it is decided from. All pulled at scrape time: the call path keeps a
 * plain count. In cluster mode the primary sums the counter and shows each gauge's maximum over the workers.
 */
export function createOverloadMetrics(
  registry: Registry,
  stats: () => OverloadMetricsStats | undefined,
): void {
  const registers = [registry];
  const shed = new FastCounter(registry, {
    name: 'stirgate_overload_shed_total',
    help: 'New INVITEs refused with 503 and Retry-After because the element was overloaded.',
  });
  shed.beforeCollect = () => shed.set(stats()?.shed ?? 0);
  new Gauge({
    name: 'stirgate_overload_shed_ratio',
    help: 'Share of new INVITEs refused now because of overload, 0..1.',
    registers,
    aggregator: 'max',
    collect() {
      this.set(stats()?.fraction ?? 0);
    },
  });
  new Gauge({
    name: 'stirgate_event_loop_utilization_ratio',
    help: 'Event-loop utilisation over the last overload sample, 0..1.',
    registers,
    aggregator: 'max',
    collect() {
      this.set(stats()?.elu ?? 0);
    },
  });
  new Gauge({
    name: 'stirgate_udp_receive_backlog_ratio',
    help: 'The fullest UDP socket receive queue at the last overload sample, 0..1 of its buffer.',
    registers,
    aggregator: 'max',
    collect() {
      this.set(stats()?.backlog ?? 0);
    },
  });
  new Gauge({
    name: 'stirgate_event_loop_lag_seconds',
    help: 'Largest event-loop lateness over the last overload sample.',
    registers,
    aggregator: 'max',
    collect() {
      this.set(stats()?.lagSeconds ?? 0);
    },
  });
}
