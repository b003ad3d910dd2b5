import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { HostPort } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { VERSION } from '../version.js';
import type { TrunkLabel } from './labels.js';
import { createStirgateMetrics, type MetricsStats } from './stirgate-metrics.js';
import { subscribeMetrics } from './subscribe-metrics.js';
import { createTracebackMetrics, type TracebackMetricsStats } from './traceback-metrics.js';

export { type TrunkLabel, trunkLabels } from './labels.js';
export type { MetricsStats } from './stirgate-metrics.js';
export { createTracebackMetrics, type TracebackMetricsStats } from './traceback-metrics.js';

export interface MetricsOptions {
  /** Where `/metrics` and `/healthz` listen (config `metrics.listen`; port 0 picks a free port). */
  readonly listen: HostPort;
  /** Read on every scrape for the active-calls/dialogs/transactions/connections gauges. */
  readonly stats: () => MetricsStats;
  readonly logger: Logger;
  /** `stirgate_build_info{version}`; defaults to the package version. */
  readonly version?: string;
  /** The configured trunks (`trunkLabels(config)`), whose per-trunk series start at zero; none by default. */
  readonly trunks?: readonly TrunkLabel[];
  /** The configured customer names, whose policy series start at zero; none by default. */
  readonly customers?: readonly string[];
  /** The traceback writer's counts, read on every scrape; the series stay at zero without it. */
  readonly traceback?: () => TracebackMetricsStats;
}

export interface MetricsEndpoint {
  /** Absolute URL of the exposition, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string;
  readonly registry: Registry;
  /** Stop serving and unsubscribe from every channel. */
  close(): Promise<void>;
}

/**
 * The registry without a server: default process metrics plus every Stirgate series, subscribed to the
 * diagnostics channels until `close`. A cluster worker (src/cluster/) hands it to the primary on each scrape.
 */
export function createMetricsRegistry(
  opts: Pick<MetricsOptions, 'stats' | 'version' | 'trunks' | 'customers' | 'traceback'>,
): {
  registry: Registry;
  close(): void;
} {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const metrics = createStirgateMetrics(registry, {
    stats: opts.stats,
    version: opts.version ?? VERSION,
    trunks: opts.trunks ?? [],
    customers: opts.customers ?? [],
  });
  createTracebackMetrics(registry, opts.traceback);
  return { registry, close: subscribeMetrics(metrics) };
}

/**
 * The HTTP side of `/metrics` and `/healthz`, shared by the single process and the cluster primary:
 * GET/HEAD only, `exposition` formats on each scrape, `health` answers /healthz, 404 elsewhere.
 */
export function metricsHandler(o: {
  readonly exposition: () => Promise<{ body: string; contentType: string }>;
  readonly health: () => { status: number; body: string };
  readonly logger: Logger;
}): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string): void => {
      res.writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': Buffer.byteLength(body),
      });
      res.end(method === 'HEAD' ? undefined : body);
    };
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 });
      res.end();
      return;
    }
    if (path === '/healthz') {
      const h = o.health();
      text(h.status, h.body);
      return;
    }
    if (path !== '/metrics') {
      text(404, 'not found\n');
      return;
    }
    o.exposition().then(
      ({ body, contentType }) => {
        res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
        res.end(method === 'HEAD' ? undefined : body);
      },
      (err: unknown) => {
        o.logger.error({ err, event: 'metrics_collect_failed' }, 'metrics collection failed');
        text(500, 'metrics collection failed\n');
      },
    );
  };
}

/** Longest a scrape may take before we give up on the connection. */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * Start the Prometheus endpoint: a prom-client registry with the default process metrics (including
 * nodejs_eventloop_lag_*) and every Stirgate series, fed by `node:diagnostics_channel` subscriptions; served by
 * node:http on `GET /metrics` (text exposition format 0.0.4) and `GET /healthz`.
 *
 * The call path never imports this module: it publishes events, this module observes them.
 */
export async function startMetrics(opts: MetricsOptions): Promise<MetricsEndpoint> {
  const { registry, close: unsubscribe } = createMetricsRegistry(opts);
  const logger = opts.logger;

  const handle = metricsHandler({
    exposition: () => registry.metrics().then((body) => ({ body, contentType: registry.contentType })),
    health: () => ({ status: 200, body: 'ok\n' }),
    logger,
  });

  const server: Server = createServer(handle);
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = 65_000; // longer than Prometheus' idle keep-alive, so scrapes reuse connections
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.listen.port, opts.listen.address, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    unsubscribe();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  const host = opts.listen.address.includes(':') ? `[${opts.listen.address}]` : opts.listen.address;
  const url = `http://${host}:${port}/metrics`;
  logger.info({ url, event: 'metrics_listening' }, 'serving Prometheus metrics');

  let closed: Promise<void> | undefined;
  return {
    url,
    registry,
    close() {
      closed ??= new Promise<void>((resolve) => {
        unsubscribe();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
