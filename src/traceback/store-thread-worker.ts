import { parentPort, workerData } from 'node:worker_threads';
import { ControlDb } from '../control/sqlite-control-store.js';
import { realClock } from '../sip/transaction/timers.js';
import { RetentionPruner } from './retention.js';
import { SqliteTracebackStore } from './sqlite-store.js';
import type { ControlCall, StoreReply, StoreRequest, StoreThreadOptions } from './store-thread.js';

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

interface Opened {
  readonly store: SqliteTracebackStore | undefined;
  readonly controls: ControlDb | undefined;
}

function open(): Opened | undefined {
  try {
    // The records first: opening migrates the file, the control store's connection then finds it current.
    const store = opts.records === false ? undefined : SqliteTracebackStore.open(opts.file);
    const controls = opts.controls === true ? ControlDb.open(opts.file) : undefined;
    return { store, controls };
  } catch (err) {
    // The opener terminates this thread when it reads this.
    reply({ t: 'open_failed', message: (err as Error).message });
    return undefined;
  }
}

function runControl(db: ControlDb | undefined, c: ControlCall): unknown {
  if (db === undefined) throw new Error('the control store is not open in this thread');
  // The union's members pair each method with its own arguments.
  return (db[c.m] as (...a: unknown[]) => unknown).apply(db, c.args);
}

function records(store: SqliteTracebackStore | undefined): SqliteTracebackStore {
  if (store === undefined) throw new Error('the traceback records are not open in this thread');
  return store;
}

function serve({ store, controls }: Opened): void {
  const retention =
    store !== undefined && opts.retentionDays > 0
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
          reply({ t: 'ok', id: m.id, value: await records(store).write(m.batch) });
          return;
        case 'query':
          reply({ t: 'ok', id: m.id, value: await records(store).query(m.q) });
          return;
        case 'prune':
          reply({ t: 'ok', id: m.id, value: await records(store).prune(m.before, m.limit) });
          return;
        case 'control':
          reply({ t: 'ok', id: m.id, value: runControl(controls, m.call) });
          return;
        case 'close':
          retention?.stop();
          controls?.close();
          await store?.close();
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

const opened = open();
if (opened !== undefined) serve(opened);
