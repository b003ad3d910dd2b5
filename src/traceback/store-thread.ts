import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { ControlStore } from '../control/control-store.js';
import type { ControlDb } from '../control/sqlite-control-store.js';
import { StirgateError } from '../errors.js';
import type { TracebackEvent } from '../events.js';
import {
  TracebackQueryError,
  type TracebackQueryErrorCode,
  TracebackStoreError,
  type TracebackStoreErrorCode,
} from './errors.js';
import type { TracebackQuery, TracebackQueryResult, TracebackStore, TracebackWriteOutcome } from './store.js';

/**
 * The SQLite store in a `worker_threads` Worker (store-thread-worker.ts), and the `TracebackStore` the element
 * uses to reach it: `node:sqlite` is synchronous, so every write, query and retention prune runs on that
 * thread, never on the SIP event loop. One postMessage per batch (structured clone of the events); answers
 * come back by request id.
 *
 * If the thread dies (an uncaught error, out of memory), every pending and later request rejects with
 * `store_thread_down`: the writer counts those batches as dropped (`store_error`), the call path never notices.
 */

export interface StoreThreadOptions {
  /** The SQLite file (created with mode 0600 when missing). */
  readonly file: string;
  /** Records older than this are pruned in the background, in small batches; 0 keeps everything. */
  readonly retentionDays: number;
  /** Open the traceback records (default true). */
  readonly records?: boolean;
  /** Open the control store (src/control/), on a connection of its own, for `controls()`. */
  readonly controls?: boolean;
}

/** The control store's methods, as they cross to the thread. */
type ControlMethod = Exclude<keyof ControlStore, 'close'>;
export type ControlCall = {
  [K in ControlMethod]: { readonly m: K; readonly args: Parameters<ControlDb[K]> };
}[ControlMethod];

/**
 * Why a request to the store thread failed when the store itself did not say: `store_open_failed` (the thread
 * could not open the file), `store_thread_down` (the thread exited, or was closed), `store_error` (the store
 * threw something other than its own typed errors). `TracebackQueryError` and `TracebackStoreError` thrown in
 * the thread are rebuilt here with their code, so callers (the admin API) branch on them as with the store in
 * process.
 */
export type StoreThreadErrorCode = 'store_thread_down' | 'store_open_failed' | 'store_error';

export class StoreThreadError extends StirgateError<StoreThreadErrorCode> {}

/** Main thread -> store thread. */
export type StoreRequest =
  | { readonly t: 'write'; readonly id: number; readonly batch: readonly TracebackEvent[] }
  | { readonly t: 'query'; readonly id: number; readonly q: TracebackQuery }
  | { readonly t: 'prune'; readonly id: number; readonly before: number; readonly limit: number }
  | { readonly t: 'control'; readonly id: number; readonly call: ControlCall }
  | { readonly t: 'close'; readonly id: number };

/** Store thread -> main thread. */
export type StoreReply =
  | { readonly t: 'ready' }
  | { readonly t: 'open_failed'; readonly message: string }
  | { readonly t: 'ok'; readonly id: number; readonly value?: unknown }
  | {
      readonly t: 'failed';
      readonly id: number;
      readonly name: string;
      readonly code: string | undefined;
      readonly message: string;
    }
  /** Background retention removed `n` records. */
  | { readonly t: 'pruned'; readonly n: number }
  /** A retention batch failed (disk, lock); the next pass retries. */
  | { readonly t: 'retention_failed'; readonly message: string };

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
}

export class TracebackStoreThread implements TracebackStore {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #down: string | undefined;
  #closed: Promise<void> | undefined;
  #pruned = 0;
  readonly #onRetentionError: ((message: string) => void) | undefined;

  private constructor(worker: Worker, onRetentionError: ((message: string) => void) | undefined) {
    this.#worker = worker;
    this.#onRetentionError = onRetentionError;
    worker.on('message', (m: StoreReply) => this.#onReply(m));
    worker.on('error', (err) => this.#fail(`store thread failed: ${err.message}`));
    worker.on('exit', (code) => this.#fail(`store thread exited (code ${code})`));
  }

  /**
   * Start the thread and open the store in it; rejects with `store_open_failed` (the store's message).
   * `onRetentionError` hears of a failed retention batch (the thread has no logger).
   */
  static open(
    opts: StoreThreadOptions,
    onRetentionError?: (message: string) => void,
  ): Promise<TracebackStoreThread> {
    const worker = spawnStoreWorker(opts);
    return new Promise((resolve, reject) => {
      const onFirst = (m: StoreReply): void => {
        worker.off('message', onFirst);
        worker.off('error', onError);
        if (m.t === 'ready') {
          resolve(new TracebackStoreThread(worker, onRetentionError));
          return;
        }
        const message = m.t === 'open_failed' ? m.message : `unexpected first message ${m.t}`;
        void worker.terminate();
        reject(new StoreThreadError('store_open_failed', message));
      };
      const onError = (err: Error): void => {
        worker.off('message', onFirst);
        void worker.terminate();
        reject(new StoreThreadError('store_open_failed', err.message));
      };
      worker.on('message', onFirst);
      worker.once('error', onError);
    });
  }

  /** Records removed by background retention since the thread started. */
  get pruned(): number {
    return this.#pruned;
  }

  write(batch: readonly TracebackEvent[]): Promise<TracebackWriteOutcome> {
    return this.#request({ t: 'write', id: ++this.#next, batch }) as Promise<TracebackWriteOutcome>;
  }

  query(q: TracebackQuery): Promise<TracebackQueryResult> {
    return this.#request({ t: 'query', id: ++this.#next, q }) as Promise<TracebackQueryResult>;
  }

  prune(before: number, limit: number): Promise<number> {
    return this.#request({ t: 'prune', id: ++this.#next, before, limit }) as Promise<number>;
  }

  /**
   * The control store in this thread (opened with `controls: true`). Its `close` closes the thread, like
   * this object's.
   */
  controls(): ControlStore {
    const call = (c: ControlCall) => this.#request({ t: 'control', id: ++this.#next, call: c });
    return {
      load: () => call({ m: 'load', args: [] }) as ReturnType<ControlStore['load']>,
      addBlock: (...args) => call({ m: 'addBlock', args }) as ReturnType<ControlStore['addBlock']>,
      removeBlock: (...args) => call({ m: 'removeBlock', args }) as ReturnType<ControlStore['removeBlock']>,
      expireBlocks: (...args) =>
        call({ m: 'expireBlocks', args }) as ReturnType<ControlStore['expireBlocks']>,
      setLimits: (...args) => call({ m: 'setLimits', args }) as ReturnType<ControlStore['setLimits']>,
      appendAudit: (...args) => call({ m: 'appendAudit', args }) as ReturnType<ControlStore['appendAudit']>,
      listBlocks: (...args) => call({ m: 'listBlocks', args }) as ReturnType<ControlStore['listBlocks']>,
      audit: (...args) => call({ m: 'audit', args }) as ReturnType<ControlStore['audit']>,
      close: () => this.close(),
    };
  }

  /** Close the store (its last transaction commits, WAL checkpointed) and end the thread. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#down === undefined) {
        await this.#request({ t: 'close', id: ++this.#next }).catch(() => {});
      }
      this.#down ??= 'store closed';
      await this.#worker.terminate();
    })();
    return this.#closed;
  }

  #request(m: StoreRequest): Promise<unknown> {
    if (this.#down !== undefined)
      return Promise.reject(new StoreThreadError('store_thread_down', this.#down));
    return new Promise((resolve, reject) => {
      this.#pending.set(m.id, { resolve, reject });
      this.#worker.postMessage(m);
    });
  }

  #onReply(m: StoreReply): void {
    if (m.t === 'pruned') {
      this.#pruned += m.n;
      return;
    }
    if (m.t === 'retention_failed') {
      this.#onRetentionError?.(m.message);
      return;
    }
    if (m.t !== 'ok' && m.t !== 'failed') return;
    const p = this.#pending.get(m.id);
    if (p === undefined) return;
    this.#pending.delete(m.id);
    if (m.t === 'ok') p.resolve(m.value);
    else p.reject(storeFailure(m));
  }

  #fail(why: string): void {
    this.#down ??= why;
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.reject(new StoreThreadError('store_thread_down', why));
    }
  }
}

/** The store's own typed error, as thrown in the thread (structured clone keeps no class). */
function storeFailure(m: {
  readonly name: string;
  readonly code: string | undefined;
  readonly message: string;
}): Error {
  if (m.name === 'TracebackQueryError' && m.code !== undefined)
    return new TracebackQueryError(m.code as TracebackQueryErrorCode, m.message);
  if (m.name === 'TracebackStoreError' && m.code !== undefined)
    return new TracebackStoreError(m.code as TracebackStoreErrorCode, m.message);
  return new StoreThreadError('store_error', `${m.name}: ${m.message}`);
}

/**
 * The compiled thread entry beside this file. Run from the TypeScript sources (vitest), the entry is a `.ts`
 * file: Node 24 strips its types, and a resolve hook maps the tree's `.js` import specifiers to the `.ts`
 * files that exist instead (the compiler's job in dist).
 */
function spawnStoreWorker(opts: StoreThreadOptions): Worker {
  const js = new URL('./store-thread-worker.js', import.meta.url);
  if (existsSync(js)) return new Worker(js, { workerData: opts });
  const ts = new URL('./store-thread-worker.ts', import.meta.url);
  const boot = `
    const { registerHooks } = require('node:module');
    const { existsSync } = require('node:fs');
    const { fileURLToPath } = require('node:url');
    registerHooks({
      resolve(specifier, context, next) {
        if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
          const ts = new URL(specifier.slice(0, -3) + '.ts', context.parentURL);
          if (existsSync(fileURLToPath(ts))) return next(ts.href, context);
        }
        return next(specifier, context);
      },
    });
    import(${JSON.stringify(ts.href)});
  `;
  return new Worker(boot, { eval: true, workerData: opts });
}
