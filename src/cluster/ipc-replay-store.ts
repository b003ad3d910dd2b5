import { type ClusterReplayEvent, clusterChannels } from '../events.js';
import type { ReplayStore } from '../stir/replay-store.js';

export interface ReplayRequest {
  readonly t: 'sg:replay';
  readonly id: number;
  readonly key: string;
  readonly ttlMs: number;
}

function count(outcome: ClusterReplayEvent['outcome']): void {
  if (clusterChannels.replay.hasSubscribers) clusterChannels.replay.publish({ outcome });
}

/**
 * A worker's replay store (RFC 8224 §6.2.1 step 4): asks the cluster primary, which keeps one
 * MemoryReplayStore for all workers, so a PASSporT replayed in a call another worker owns is still caught.
 *
 * No answer within `timeoutMs` (primary gone or overloaded) counts as not seen: a lost replay check must not
 * turn a legitimate call into a 438. The miss is counted (`stirgate_cluster_replay_checks_total{outcome="timeout"}`).
 */
export class IpcReplayStore implements ReplayStore {
  readonly #send: (m: ReplayRequest) => boolean;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, { resolve: (seen: boolean) => void; timer: NodeJS.Timeout }>();
  #next = 0;

  /** `send` returns false when the channel to the primary is closed. */
  constructor(send: (m: ReplayRequest) => boolean, timeoutMs = 500) {
    this.#send = send;
    this.#timeoutMs = timeoutMs;
  }

  seen(key: string, ttlMs: number): Promise<boolean> {
    const id = ++this.#next;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        count('timeout');
        resolve(false);
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve, timer });
      let sent = false;
      try {
        sent = this.#send({ t: 'sg:replay', id, key, ttlMs });
      } catch {
        sent = false;
      }
      if (!sent) {
        clearTimeout(timer);
        this.#pending.delete(id);
        count('timeout');
        resolve(false);
      }
    });
  }

  /** The primary's answer to request `id`. */
  answer(id: number, seen: boolean): void {
    const p = this.#pending.get(id);
    if (p === undefined) return; // timed out already
    this.#pending.delete(id);
    clearTimeout(p.timer);
    count('answered');
    p.resolve(seen);
  }

  /** Pending checks resolve as not seen (shutdown). */
  close(): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.resolve(false);
    }
  }
}
