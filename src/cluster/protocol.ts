/**
 * Messages between the cluster primary and its SIP workers (node:cluster IPC, JSON). Every type starts with
 * `sg:` so nothing else on the channel is mistaken for one.
 *
 * Start-up: a worker binds its forwarding socket and sends `sg:forward_port`; once every worker has, the
 * primary sends `sg:peers` to all, and each worker opens the SIP sockets and sends `sg:ready`. A restarted
 * worker goes through the same steps; the primary sends the new `sg:peers` table to everyone.
 *
 * Operator controls: the primary answers `sg:forward_port` with the whole current `sg:controls` (a worker
 * starts its element only with both the peers and the controls), and sends it again to every worker on each
 * change; a worker answers `sg:controls_applied`. The element-wide limits: `sg:lease` (a batch of slots with
 * tokens, asked and answered by id), `sg:lease_return` and `sg:refused` (told).
 */
import type { ReloadOutcome } from '../app/reload.js';
import type { LeaseResult } from '../b2bua/local-admission-counters.js';
import type { Config } from '../config/index.js';
import type { TracebackEvent } from '../events.js';
import type { PolicyRefusalCause } from '../policy/admission-counters.js';
import type { Controls, CustomerLimits } from '../policy/controls.js';
import type { ReplaySeen } from './broadcast-replay-store.js';

/** Environment a worker is forked with. */
export const ENV_WORKER_INDEX = 'STIRGATE_WORKER_INDEX';
export const ENV_CLUSTER_TOKEN = 'STIRGATE_CLUSTER_TOKEN';

export type WorkerToPrimary =
  | { readonly t: 'sg:forward_port'; readonly port: number }
  | { readonly t: 'sg:ready'; readonly endpoints: readonly string[] }
  | { readonly t: 'sg:startup_failed'; readonly message: string }
  | { readonly t: 'sg:replay'; readonly id: number; readonly key: string; readonly ttlMs: number }
  /** `replay.cluster_check: broadcast`: keys this worker recorded since its last batch. */
  | ReplaySeen
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
  | { readonly t: 'sg:reloaded'; readonly id: number; readonly outcome: ReloadOutcome }
  /** The worker's call path now reads this version of the controls. */
  | { readonly t: 'sg:controls_applied'; readonly version: number }
  /** Up to `want` concurrent slots, each with a token, for the customer (src/cluster/ipc-admission-counters.ts). */
  | {
      readonly t: 'sg:lease';
      readonly id: number;
      readonly customer: string;
      readonly limits: CustomerLimits;
      readonly want: number;
    }
  /** Leased and not used: `tokens` back to the bucket, `slots` freed; the calls admitted since the last one. */
  | {
      readonly t: 'sg:lease_return';
      readonly customer: string;
      readonly tokens: number;
      readonly slots: number;
      readonly admitted: number;
      /** The worker's calls of this customer in progress. */
      readonly active: number;
    }
  | { readonly t: 'sg:refused'; readonly customer: string; readonly cause: PolicyRefusalCause };

export type PrimaryToWorker =
  /** Forwarding port of each worker by index; 0 while that worker is (re)starting. */
  | { readonly t: 'sg:peers'; readonly ports: readonly number[] }
  | { readonly t: 'sg:replay'; readonly id: number; readonly seen: boolean }
  /** Another worker's recorded keys, for this worker's copy of the replay store. */
  | { readonly t: 'sg:replay_learn'; readonly keys: readonly string[]; readonly ttlMs: number }
  /** This many of the keys this worker sent had been recorded by another worker first (late_replay). */
  | { readonly t: 'sg:replay_late'; readonly count: number }
  /** A (re)started worker's copy of the replay store: every key the primary holds, with the time it has left. */
  | { readonly t: 'sg:replay_snapshot'; readonly entries: readonly (readonly [string, number])[] }
  | { readonly t: 'sg:metrics'; readonly id: number }
  | { readonly t: 'sg:controls'; readonly controls: Controls }
  | { readonly t: 'sg:lease'; readonly id: number; readonly result: LeaseResult }
  /** Drain, then exit (src/app/drain.ts); `now`: a second SIGTERM, BYE every call and exit at once. */
  | { readonly t: 'sg:stop'; readonly now?: boolean }
  /**
   * Apply this configuration, which the primary has read, validated and filled with origids (JSON: keys
   * whose value was `undefined` arrive absent, which the configuration reads the same way).
   */
  | { readonly t: 'sg:reload'; readonly id: number; readonly config: Config };

export function isClusterMessage(m: unknown): m is { readonly t: string } {
  const t = (m as { t?: unknown } | null)?.t;
  return typeof t === 'string' && t.startsWith('sg:');
}
