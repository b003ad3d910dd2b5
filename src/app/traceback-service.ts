import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { TracebackEvent } from '../events.js';
import type { Logger } from '../log/logger.js';
import type { TracebackMetricsStats } from '../metrics/start-metrics.js';
import type { TracebackStore } from '../traceback/store.js';
import { TracebackStoreThread } from '../traceback/store-thread.js';
import { type TracebackSink, TracebackWriter } from '../traceback/writer.js';
import { StartupError } from './startup-error.js';

/**
 * Traceback records (docs/traceback.md) from the call path to the store. A single process and the cluster
 * primary own the store (`startTracebackStore`: the SQLite store in its thread, a writer sinking into it);
 * a cluster worker only forwards (`startTracebackForwarder`: a writer whose sink is the IPC to the primary).
 */
export interface TracebackService {
  /** The store for queries (the admin API); undefined in a cluster worker. */
  readonly store: TracebackStore | undefined;
  readonly writer: TracebackWriter;
  /** For the `stirgate_traceback_*` series. */
  metrics(): TracebackMetricsStats;
  /** Flush what is queued (bounded wait), then close the store. */
  close(): Promise<void>;
}

/** The SQLite file of the records: `traceback.file`, or `traceback.db` in `data_dir`. */
export function tracebackFile(config: Config): string {
  return config.traceback.file ?? join(config.dataDir, 'traceback.db');
}

function writerOptions(config: Config, sink: TracebackSink, logger: Logger) {
  const t = config.traceback;
  return { sink, queueMax: t.queueMax, batchMax: t.batchMax, flushMs: t.flushMs, logger };
}

/**
 * Open the store in its thread (a failure is a `data_dir` start-up error naming the file) and start the
 * writer. `owns`: records come from this process's call path, those of the element whose record keys it
 * recognises (single process); without it (the cluster primary, which handles no calls) the writer is fed
 * with its workers' batches instead (`writer.acceptAll`).
 */
export async function startTracebackStore(
  config: Config,
  logger: Logger,
  opts: { readonly owns?: (key: string) => boolean },
): Promise<TracebackService> {
  const file = tracebackFile(config);
  const store = await TracebackStoreThread.open(
    { file, retentionDays: config.traceback.retentionDays },
    (message) =>
      logger.warn({ event: 'traceback_retention_failed', message }, 'traceback retention batch failed'),
  ).catch((cause: unknown) => {
    throw new StartupError('data_dir', `traceback.file: cannot open ${file}: ${(cause as Error).message}`, {
      cause,
    });
  });
  const sink = async (batch: readonly TracebackEvent[]): Promise<void> => {
    const outcome = await store.write(batch);
    // Ends whose call never arrived, pushed out of the store's bounded wait (a call record dropped earlier).
    if (outcome.droppedEnds > 0)
      logger.warn(
        { event: 'traceback_ends_dropped', dropped: outcome.droppedEnds },
        'traceback: ends of calls not on record dropped',
      );
  };
  const writer = new TracebackWriter(writerOptions(config, sink, logger));
  if (opts.owns !== undefined) writer.subscribe(opts.owns);
  logger.info({ file, event: 'traceback_store_open' }, 'traceback records on');
  return {
    store,
    writer,
    metrics: () => {
      const s = writer.stats();
      return { queued: s.queued, stored: s.written, dropped: s.dropped, pruned: store.pruned };
    },
    close: async () => {
      await writer.close();
      await store.close();
    },
  };
}

/**
 * A cluster worker's writer: batches go to the primary (`sg:traceback`), whose writer stores them. The sink
 * resolves once the batch is handed to the IPC channel, so one batch at a time is on its way.
 */
export function startTracebackForwarder(
  config: Config,
  logger: Logger,
  send: (batch: readonly TracebackEvent[]) => Promise<void>,
  owns: (key: string) => boolean,
): TracebackService {
  const writer = new TracebackWriter(writerOptions(config, send, logger));
  writer.subscribe(owns);
  return {
    store: undefined,
    writer,
    metrics: () => {
      const s = writer.stats();
      return { queued: s.queued, stored: 0, dropped: s.dropped, pruned: 0 };
    },
    close: () => writer.close(),
  };
}
