import type { Block, CustomerLimits } from '../policy/controls.js';

/**
 * Where the operator controls live (ADMIN-API.md): blocks, customer limit overrides and the audit log, behind
 * one interface so a store several nodes share (PostgreSQL) can come later next to the embedded SQLite one
 * (src/control/sqlite-control-store.ts, in the store thread). Every change is one transaction with its audit
 * entry: a change is on record, or it did not happen.
 */

/** What the audit log records (ADMIN-API.md "every change"). */
export type AuditAction = 'block.add' | 'block.remove' | 'block.expire' | 'limits.set' | 'config.reload';

export interface AuditEntry {
  readonly id: number;
  /** Epoch ms. */
  readonly time: number;
  /** The admin token's name, or `system` (expiry sweep). */
  readonly actor: string;
  readonly action: AuditAction;
  /** What changed: `block:<id>`, `customer:<name>`, `config`. */
  readonly object: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly reason: string | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id'>;

/** A block as stored: the call path's `Block`, and its removal once removed (or expired). */
export interface StoredBlock extends Block {
  readonly removed: BlockRemoval | null;
}

export interface BlockRemoval {
  /** Epoch ms. */
  readonly time: number;
  readonly actor: string;
  readonly reason: string | null;
}

export type LimitOverride = Partial<CustomerLimits>;

/** What the control plane loads at start. */
export interface ActiveControls {
  /** Not removed, oldest first (expired ones not yet swept included). */
  readonly blocks: readonly StoredBlock[];
  readonly limitOverrides: Readonly<Record<string, LimitOverride>>;
}

export type RemoveOutcome =
  | { readonly ok: true; readonly block: StoredBlock }
  | { readonly ok: false; readonly why: 'not_found' | 'already_removed'; readonly block?: StoredBlock };

export interface AuditQuery {
  /** Epoch ms, inclusive. */
  readonly since: number;
  readonly limit: number;
}

export interface ControlStore {
  load(): Promise<ActiveControls>;
  /** Stores the block under a new id (`b-<n>`) with its `block.add` entry; returns it. */
  addBlock(block: Omit<Block, 'id'>, reason: string): Promise<StoredBlock>;
  /** Marks the block removed with its `block.remove` entry, unless it is unknown or already removed. */
  removeBlock(id: string, removal: BlockRemoval): Promise<RemoveOutcome>;
  /** Every active block whose `expires` is at or before `now`, marked removed by `system` (`block.expire`). */
  expireBlocks(now: number): Promise<readonly StoredBlock[]>;
  /** Replaces the customer's override (null: back to the configured limits) with its `limits.set` entry. */
  setLimits(
    customer: string,
    override: LimitOverride | null,
    change: { readonly time: number; readonly actor: string; readonly reason: string | null },
  ): Promise<void>;
  /** An audit entry for a change stored elsewhere (a configuration reload). */
  appendAudit(entry: NewAuditEntry): Promise<AuditEntry>;
  listBlocks(all: boolean): Promise<readonly StoredBlock[]>;
  /** Oldest first from `since`. */
  audit(q: AuditQuery): Promise<readonly AuditEntry[]>;
  close(): Promise<void>;
}
