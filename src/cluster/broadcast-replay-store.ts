import { type ClusterReplayEvent, clusterChannels } from '../events.js';
import { MemoryReplayStore, type ReplayStore } from '../stir/replay-store.js';

/** A worker's new PASSporT keys, for the primary to check and pass on to the other workers. */
export interface ReplaySeen {
  readonly t: 'sg:replay_seen';
  readonly keys: readonly string[];
  readonly ttlMs: number;
}

function count(outcome: ClusterReplayEvent['outcome']): void {
  if (clusterChannels.replay.hasSubscribers) clusterChannels.replay.publish({ outcome });
}

/**
 * A worker's replay store (RFC 8224 §12.1, ATIS-1000074 §5.3.1 step 4) that answers on the call's own event
 * loop: it checks this worker's copy of the cluster's store synchronously, records a new key there, and sends
 * the keys it recorded to the primary once per turn of the loop. The primary checks them against its own
 * store (every worker's keys) and passes them on to the other workers, which add them to their copies.
 *
 * What this gives up against asking the primary for every call (`replay.cluster_check: ask_primary`,
 * IpcReplayStore): a PASSporT presented to two workers within the time its key takes to cross (one IPC hop,
 * a millisecond or so) passes in both, so one token can set up at most one call per worker. The primary still
 * sees the second use and counts it (`stirgate_cluster_replay_checks_total{outcome="late_replay"}`), with a
 * warning naming the key. Every later use anywhere is a replay. What it gains: no IPC round trip on the
 * INVITE path, which under load was most of the verification time (docs/performance.md, "Where verification
 * time goes").
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
      setImmediate(() => this.#flush());
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
 * is a PASSporT used in two workers before the first use reached the second: counted and returned so the
 * caller can log it.
 */
export function recordWorkerKeys(store: ReplayStore, msg: ReplaySeen): string[] {
  const late: string[] = [];
  for (const k of msg.keys) if (store.seen(k, msg.ttlMs) === true) late.push(k);
  for (let i = 0; i < late.length; i++) count('late_replay');
  return late;
}
