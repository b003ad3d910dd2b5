import { type ClusterReplayEvent, clusterChannels } from '../events.js';
import { MemoryReplayStore, type ReplayStore } from '../stir/replay-store.js';

/** A worker's new PASSporT keys, for the primary to check and pass on to the other workers. */
export interface ReplaySeen {
  readonly t: 'sg:replay_seen';
  readonly keys: readonly string[];
  readonly ttlMs: number;
}

/** How long a recorded key waits to be sent with the others recorded meanwhile. */
export const FLUSH_MS = 5;

function count(outcome: ClusterReplayEvent['outcome']): void {
  if (clusterChannels.replay.hasSubscribers) clusterChannels.replay.publish({ outcome });
}

/**
 * A worker's replay store (RFC 8224 §12.1, ATIS-1000074 §5.3.1 step 4) that answers on the call's own event
 * loop: it checks this worker's copy of the cluster's store synchronously, records a new key there, and sends
 * the keys it recorded to the primary in one message every FLUSH_MS. The primary checks them against its own
 * store (every worker's keys) and passes them on to the other workers, which add them to their copies.
 *
 * What this gives up against asking the primary for every call (`replay.cluster_check: ask_primary`,
 * IpcReplayStore): a PASSporT presented to two workers within the time its key takes to cross (FLUSH_MS and
 * one IPC hop through the primary: ~5-10 ms) passes in both, so one token can set up at most one call per worker. The primary still
 * sees the second use and counts it (`stirgate_cluster_replay_checks_total{outcome="late_replay"}`), with a
 * warning naming the key. Every later use anywhere is a replay. What it gains: no IPC round trip on the
 * INVITE path, which under load was most of the verification time (docs/performance.md, issue 19 section).
 */
export class BroadcastReplayStore implements ReplayStore {
  readonly #local: MemoryReplayStore;
  readonly #send: (m: ReplaySeen) => boolean;
  #pending: string[] = [];
  #pendingTtlMs = 0;
  #flushQueued = false;

  /** `send` returns false when the channel to the primary is closed. */
  constructor(send: (m: ReplaySeen) => boolean, max: number) {
    this.#local = new MemoryReplayStore({ max });
    this.#send = send;
  }

  seen(key: string, ttlMs: number): boolean {
    if (this.#local.seen(key, ttlMs)) return true;
    // One TTL per batch: it is the configured freshness window, the same for every call.
    if (this.#pending.length > 0 && ttlMs !== this.#pendingTtlMs) this.#flush();
    this.#pending.push(key);
    this.#pendingTtlMs = ttlMs;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      // One message per FLUSH_MS, not per loop turn: at 1,000 verified calls/s on 2 workers this took the
      // element's CPU down ~13 % (docs/performance.md, issue 19) for a window of a few ms more.
      setTimeout(() => this.#flush(), FLUSH_MS).unref();
    }
    return false;
  }

  /** Keys another worker recorded, passed on by the primary. */
  learn(keys: readonly string[], ttlMs: number): void {
    for (const k of keys) this.#local.seen(k, ttlMs);
  }

  /** The primary's store when this worker starts: each key with the milliseconds it has left. */
  learnEntries(entries: readonly (readonly [string, number])[]): void {
    for (const [k, ttlMs] of entries) this.#local.seen(k, ttlMs);
  }

  #flush(): void {
    this.#flushQueued = false;
    if (this.#pending.length === 0) return;
    const keys = this.#pending;
    this.#pending = [];
    let sent = false;
    try {
      sent = this.#send({ t: 'sg:replay_seen', keys, ttlMs: this.#pendingTtlMs });
    } catch {
      sent = false;
    }
    // The primary is gone (it restarts the cluster): this worker still catches replays it sees itself.
    if (clusterChannels.replay.hasSubscribers)
      for (let i = 0; i < keys.length; i++) count(sent ? 'shared' : 'unshared');
  }

  /** Keys recorded and not yet sent go now (shutdown). */
  close(): void {
    this.#flush();
  }
}

/**
 * The primary's side: its store holds every worker's keys. A key it has already seen, arriving from a worker,
 * is a PASSporT used in two workers before the first use reached the second: returned so the primary can log
 * it and tell that worker (`sg:replay_late`), whose registry counts it (`countLateReplays`), as /metrics sums
 * the workers' registries.
 */
export function recordWorkerKeys(store: ReplayStore, msg: ReplaySeen): string[] {
  const late: string[] = [];
  for (const k of msg.keys) if (store.seen(k, msg.ttlMs) === true) late.push(k);
  return late;
}

/** In the worker the primary named: `n` of its keys had been recorded by another worker first. */
export function countLateReplays(n: number): void {
  for (let i = 0; i < n; i++) count('late_replay');
}
