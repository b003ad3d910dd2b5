/**
 * Messages between the cluster primary and its SIP workers (node:cluster IPC, JSON). Every type starts with
 * `sg:` so nothing else on the channel is mistaken for one.
 *
 * Start-up: a worker binds its forwarding socket and sends `sg:forward_port`; once every worker has, the
 * primary sends `sg:peers` to all, and each worker opens the SIP sockets and sends `sg:ready`. A restarted
 * worker goes through the same steps; the primary sends the new `sg:peers` table to everyone.
 */
import type { ReloadOutcome } from '../app/reload.js';
import type { Config } from '../config/index.js';
import type { TracebackEvent } from '../events.js';

/** Environment a worker is forked with. */
export const ENV_WORKER_INDEX = 'STIRGATE_WORKER_INDEX';
export const ENV_CLUSTER_TOKEN = 'STIRGATE_CLUSTER_TOKEN';

export type WorkerToPrimary =
  | { readonly t: 'sg:forward_port'; readonly port: number }
  | { readonly t: 'sg:ready'; readonly endpoints: readonly string[] }
  | { readonly t: 'sg:startup_failed'; readonly message: string }
  | { readonly t: 'sg:replay'; readonly id: number; readonly key: string; readonly ttlMs: number }
  | {
      readonly t: 'sg:metrics';
      readonly id: number;
      readonly metrics?: readonly object[];
      readonly error?: string;
    }
  /**
   * A batch of the worker's traceback records for the primary's store. JSON: properties whose value is
   * `undefined` arrive absent, which the store reads the same way.
   */
  | { readonly t: 'sg:traceback'; readonly batch: readonly TracebackEvent[] }
  /** The answer to `sg:reload` (src/cluster/reload-relay.ts). */
  | { readonly t: 'sg:reloaded'; readonly id: number; readonly outcome: ReloadOutcome };

export type PrimaryToWorker =
  /** Forwarding port of each worker by index; 0 while that worker is (re)starting. */
  | { readonly t: 'sg:peers'; readonly ports: readonly number[] }
  | { readonly t: 'sg:replay'; readonly id: number; readonly seen: boolean }
  | { readonly t: 'sg:metrics'; readonly id: number }
  | { readonly t: 'sg:stop' }
  /**
   * Apply this configuration, which the primary has read, validated and filled with origids (JSON: keys
   * whose value was `undefined` arrive absent, which the configuration reads the same way).
   */
  | { readonly t: 'sg:reload'; readonly id: number; readonly config: Config };

export function isClusterMessage(m: unknown): m is { readonly t: string } {
  const t = (m as { t?: unknown } | null)?.t;
  return typeof t === 'string' && t.startsWith('sg:');
}
