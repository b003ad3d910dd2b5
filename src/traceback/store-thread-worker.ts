import { parentPort, workerData } from 'node:worker_threads';
import { realClock } from '../sip/transaction/timers.js';
import { RetentionPruner } from './retention.js';
import { SqliteTracebackStore } from './sqlite-store.js';
import type { StoreReply, StoreRequest, StoreThreadOptions } from './store-thread.js';

/**
 * The store thread's body (started by store-thread.ts): opens the SQLite store, then serves requests one at a
 * time in arrival order (`node:sqlite` is synchronous: a batch is one transaction, a query runs to its end)
 * and runs retention pruning between them (src/traceback/retention.ts). Nothing here runs on the SIP event
 * loop.
 */
const port = parentPort;
if (port === null) throw new Error('store-thread-worker: not started as a worker thread');
const opts = workerData as StoreThreadOptions;
const reply = (m: StoreReply): void => port.postMessage(m);

function open(): SqliteTracebackStore | undefined {
  try {
    return SqliteTracebackStore.open(opts.file);
  } catch (err) {
    // The opener terminates this thread when it reads this.
    reply({ t: 'open_failed', message: (err as Error).message });
    return undefined;
  }
}

function serve(store: SqliteTracebackStore): void {
  const retention =
    opts.retentionDays > 0
      ? new RetentionPruner({
          store,
          retentionDays: opts.retentionDays,
          clock: realClock,
          onPass: (n) => {
            if (n > 0) reply({ t: 'pruned', n });
          },
          onError: (err) => reply({ t: 'retention_failed', message: (err as Error).message ?? String(err) }),
        })
      : undefined;
  retention?.start();

  const handle = async (m: StoreRequest): Promise<void> => {
    try {
      switch (m.t) {
        case 'write':
          reply({ t: 'ok', id: m.id, value: await store.write(m.batch) });
          return;
        case 'query':
          reply({ t: 'ok', id: m.id, value: await store.query(m.q) });
          return;
        case 'prune':
          reply({ t: 'ok', id: m.id, value: await store.prune(m.before, m.limit) });
          return;
        case 'close':
          retention?.stop();
          await store.close();
          reply({ t: 'ok', id: m.id });
          return;
      }
    } catch (err) {
      const e = err as Error & { code?: unknown };
      reply({
        t: 'failed',
        id: m.id,
        name: e.name ?? 'Error',
        code: typeof e.code === 'string' ? e.code : undefined,
        message: e.message ?? String(err),
      });
    }
  };
  port!.on('message', (m: StoreRequest) => {
    void handle(m);
  });
  reply({ t: 'ready' });
}

const store = open();
if (store !== undefined) serve(store);
