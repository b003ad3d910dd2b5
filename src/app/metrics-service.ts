import type { Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import {
  createMetricsRegistry,
  type MetricsOptions,
  startMetrics,
  type TracebackMetricsStats,
  trunkLabels,
} from '../metrics/start-metrics.js';
import { VERSION } from '../version.js';
import type { Closers } from './closers.js';
import { StartupError } from './startup-error.js';

/**
 * Metrics before the SIP sockets, so the first INVITE is counted: /metrics on `metrics.listen`, or in a cluster
 * worker a registry handed to the primary, which serves the sum of its workers' (src/cluster/primary.ts).
 * Returns the URL of /metrics when this process serves it.
 */
export async function startMetricsService(
  config: Config,
  stats: MetricsOptions['stats'],
  closers: Closers,
  logger: Logger,
  worker: { setRegistry(registry: Registry): void } | undefined,
  traceback?: () => TracebackMetricsStats,
): Promise<string | undefined> {
  const trunks = trunkLabels(config);
  const customers = config.customers.map((c) => c.name);
  if (worker !== undefined) {
    const m = createMetricsRegistry({
      stats,
      version: VERSION,
      trunks,
      customers,
      ...(traceback !== undefined ? { traceback } : {}),
    });
    closers.add(() => m.close());
    worker.setRegistry(m.registry);
    return undefined;
  }
  const ml = config.metrics.listen;
  if (ml === undefined) return undefined;
  const metrics = await startMetrics({
    listen: ml,
    stats,
    logger,
    version: VERSION,
    trunks,
    customers,
    ...(traceback !== undefined ? { traceback } : {}),
  }).catch((cause: unknown) => {
    throw new StartupError(
      'listen',
      `metrics.listen: cannot listen on ${ml.address}:${ml.port}: ${(cause as Error).message}`,
      { cause },
    );
  });
  closers.add(() => metrics.close());
  return metrics.url;
}
