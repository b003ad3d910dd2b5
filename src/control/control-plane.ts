/**
 * The control plane (ADMIN-API.md blocks, limits, audit): owns the operator controls of one element. At start
 * it loads the active blocks and limit overrides from its store into a `LiveValue<Controls>`, the value the
 * admission and block hooks read per INVITE. Each change is validated (src/control/control-input.ts), stored
 * with its audit entry in one transaction, and only then answered and published as a new `Controls`
 * (version + 1). Changes run one at a time, so versions follow the order of the log.
 *
 * Expiry: a block's `expires` is checked by the matchers against the clock, so an expired block stops
 * matching at once; a sweep (every `sweepMs`) also marks them removed (`block.expire`, actor `system`) and
 * drops them from the published value. In a cluster, the primary runs this and sends each version to its
 * workers (src/cluster/).
 */
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { type Controls, type CustomerLimits, EMPTY_CONTROLS, LiveValue } from '../policy/controls.js';
import { ControlError } from './control-error.js';
import { type Configured, parseLimits, parseNewBlock, parseRemoval } from './control-input.js';
import type { AuditEntry, AuditQuery, ControlStore, LimitOverride, StoredBlock } from './control-store.js';

/** How often expired blocks are swept (they stop matching at `expires` regardless). */
export const DEFAULT_SWEEP_MS = 10_000;

export interface ControlPlaneOptions {
  readonly store: ControlStore;
  /** The running configuration (a reload replaces it): which customers and trunks exist. */
  readonly config: () => Config;
  readonly logger: Logger;
  readonly now?: () => number;
  readonly sweepMs?: number;
  /** Published to (its version continues from the current one). Default: a new one. */
  readonly controls?: LiveValue<Controls>;
}

/** `POST /v1/config/reload`'s result, as `Stirgate.reload()` reports it. */
export type ReloadOutcome =
  | { readonly ok: true; readonly changed: readonly string[]; readonly restartRequired: readonly string[] }
  | {
      readonly ok: false;
      readonly problems: readonly {
        readonly path: string;
        readonly message: string;
        readonly line?: number;
      }[];
    };

export class ControlPlane {
  readonly controls: LiveValue<Controls>;
  readonly #store: ControlStore;
  readonly #config: () => Config;
  readonly #logger: Logger;
  readonly #now: () => number;
  #blocks: StoredBlock[];
  #overrides: Record<string, LimitOverride>;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #sweep: NodeJS.Timeout;

  private constructor(
    o: ControlPlaneOptions,
    blocks: StoredBlock[],
    overrides: Record<string, LimitOverride>,
  ) {
    this.#store = o.store;
    this.#config = o.config;
    this.#logger = o.logger;
    this.#now = o.now ?? Date.now;
    this.#blocks = blocks;
    this.#overrides = overrides;
    this.controls = o.controls ?? new LiveValue<Controls>(EMPTY_CONTROLS);
    this.#publish();
    this.#sweep = setInterval(() => void this.sweep(), o.sweepMs ?? DEFAULT_SWEEP_MS);
    this.#sweep.unref();
  }

  /** Loads the active controls from `store` and publishes them. */
  static async start(o: ControlPlaneOptions): Promise<ControlPlane> {
    const loaded = await o.store.load();
    return new ControlPlane(o, [...loaded.blocks], { ...loaded.limitOverrides });
  }

  /** `POST /v1/blocks` */
  addBlock(body: unknown, actor: string): Promise<StoredBlock> {
    return this.#serial(async () => {
      const now = this.#now();
      const b = parseNewBlock(body, this.#configured(), now);
      const stored = await this.#store.addBlock({ ...b, actor, created: now }, b.reason);
      this.#blocks.push(stored);
      this.#publish();
      this.#logger.info(
        { event: 'block_added', block: stored.id, match: stored.match, actor },
        'block added',
      );
      return stored;
    });
  }

  /** `DELETE /v1/blocks/{id}` */
  removeBlock(id: string, body: unknown, actor: string): Promise<StoredBlock> {
    return this.#serial(async () => {
      const { reason } = parseRemoval(body);
      const r = await this.#store.removeBlock(id, { time: this.#now(), actor, reason });
      if (!r.ok) {
        if (r.why === 'not_found') throw new ControlError('block_not_found', `no block ${id}`);
        throw new ControlError('block_already_removed', `block ${id} was already removed`);
      }
      this.#blocks = this.#blocks.filter((b) => b.id !== id);
      this.#publish();
      this.#logger.info({ event: 'block_removed', block: id, actor }, 'block removed');
      return r.block;
    });
  }

  /** `PATCH /v1/customers/{name}/limits`: returns the customer's override after the change. */
  setLimits(customer: string, body: unknown, actor: string): Promise<LimitOverride | null> {
    return this.#serial(async () => {
      if (!this.#configured().hasCustomer(customer))
        throw new ControlError('customer_not_found', `no customer ${JSON.stringify(customer)} is configured`);
      const input = parseLimits(body);
      const merged: { -readonly [K in keyof CustomerLimits]?: number } = {
        ...this.#overrides[customer],
        ...input.set,
      };
      for (const f of input.cleared) delete merged[f];
      const next = Object.keys(merged).length === 0 ? null : merged;
      await this.#store.setLimits(customer, next, { time: this.#now(), actor, reason: input.reason });
      if (next === null) delete this.#overrides[customer];
      else this.#overrides[customer] = next;
      this.#publish();
      this.#logger.info({ event: 'limits_set', customer, limits: next, actor }, 'customer limits set');
      return next;
    });
  }

  /** The audit entry of an applied configuration reload (a refused one is only logged, by the caller). */
  recordReload(actor: string, changed: readonly string[], restartRequired: readonly string[]): Promise<void> {
    return this.#serial(async () => {
      await this.#store.appendAudit({
        time: this.#now(),
        actor,
        action: 'config.reload',
        object: 'config',
        before: null,
        after: { changed, restart_required: restartRequired },
        reason: null,
      });
    });
  }

  overrideOf(customer: string): LimitOverride | undefined {
    return this.#overrides[customer];
  }

  listBlocks(all: boolean): Promise<readonly StoredBlock[]> {
    return this.#store.listBlocks(all);
  }

  audit(q: AuditQuery): Promise<readonly AuditEntry[]> {
    return this.#store.audit(q);
  }

  /** Marks the blocks past their expiry removed (`block.expire`) and publishes without them. */
  sweep(): Promise<void> {
    const now = this.#now();
    if (!this.#blocks.some((b) => b.expires !== null && b.expires <= now)) return Promise.resolve();
    return this.#serial(async () => {
      const expired = await this.#store.expireBlocks(now);
      if (expired.length === 0) return;
      const gone = new Set(expired.map((b) => b.id));
      this.#blocks = this.#blocks.filter((b) => !gone.has(b.id));
      this.#publish();
      this.#logger.info({ event: 'blocks_expired', blocks: [...gone] }, 'blocks expired');
    }).catch((err: unknown) => {
      this.#logger.warn({ event: 'block_sweep_failed', err }, 'expired blocks not swept; next pass retries');
    });
  }

  /** Stops the sweep; the store is its owner's to close. */
  close(): void {
    clearInterval(this.#sweep);
  }

  #configured(): Configured {
    const c = this.#config();
    return {
      hasCustomer: (name) => c.customers.some((x) => x.name === name),
      hasTrunk: (name) => c.trunks.some((x) => x.name === name),
    };
  }

  #publish(): void {
    this.controls.set(
      Object.freeze({
        version: this.controls.current.version + 1,
        blocks: Object.freeze(this.#blocks.map(({ removed: _, ...block }) => block)),
        limitOverrides: Object.freeze({ ...this.#overrides }),
      }),
    );
  }

  /** One change at a time, in arrival order; a refused one does not stop the next. */
  #serial<T>(change: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(change, change);
    this.#queue = run.catch(() => {});
    return run;
  }
}
