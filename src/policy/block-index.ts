import type { Block, BlockAction, BlockMatchKind, Controls } from './controls.js';

/**
 * The active blocks of one `Controls` version, compiled once so that a call's lookups are map reads
 * (issue 17, "Blocks and their undo"). Per action (`reject`, `mark`) and match kind:
 * - `calling`, `called`: exact numbers in a map, and prefixes (`1202555*`) in a map walked by the prefix
 *   lengths present, shortest first: at most one map read per distinct prefix length;
 * - `customer`, `trunk`, `origid`, `spc`: a map by value.
 * A block whose `expires` has passed matches nothing (checked per lookup against the caller's clock, so
 * an expiry takes effect without a new version). Among several blocks on one key the oldest wins.
 */

export interface BlockIndex {
  /** Controls version this index was compiled from. */
  readonly version: number;
  /** Blocks in it (expired ones included): 0 lets a hook skip the call's keys altogether. */
  readonly size: number;
  /** The first unexpired block of `action` matching `value` (canonical number, or name) of `kind`. */
  find(
    kind: BlockMatchKind,
    value: string | undefined,
    action: BlockAction,
    nowMs: number,
  ): Block | undefined;
}

interface KindTable {
  readonly exact: Map<string, Block[]>;
  readonly prefixes: Map<string, Block[]>;
  /** Distinct prefix lengths, ascending. */
  prefixLengths: number[];
}

type ActionTables = Partial<Record<BlockMatchKind, KindTable>>;

export function compileBlockIndex(controls: Controls): BlockIndex {
  const byAction: Record<BlockAction, ActionTables> = { reject: {}, mark: {} };
  const ordered = [...controls.blocks].sort((a, b) => a.created - b.created);
  for (const b of ordered) {
    const tables = byAction[b.action];
    tables[b.match.kind] ??= { exact: new Map(), prefixes: new Map(), prefixLengths: [] };
    const table = tables[b.match.kind]!;
    const numeric = b.match.kind === 'calling' || b.match.kind === 'called';
    const v = b.match.value;
    if (numeric && v.endsWith('*')) push(table.prefixes, v.slice(0, -1), b);
    else push(table.exact, v, b);
  }
  for (const tables of Object.values(byAction)) {
    for (const t of Object.values(tables)) {
      t.prefixLengths = [...new Set([...t.prefixes.keys()].map((p) => p.length))].sort((a, b) => a - b);
    }
  }
  return {
    version: controls.version,
    size: controls.blocks.length,
    find(kind, value, action, nowMs) {
      const t = byAction[action][kind];
      if (t === undefined || value === undefined) return undefined;
      const exact = firstActive(t.exact.get(value), nowMs);
      if (exact !== undefined) return exact;
      for (const len of t.prefixLengths) {
        if (len > value.length) break;
        const hit = firstActive(t.prefixes.get(value.slice(0, len)), nowMs);
        if (hit !== undefined) return hit;
      }
      return undefined;
    },
  };
}

/** The index of no blocks (before the control plane hands the first version over). */
export const EMPTY_BLOCK_INDEX: BlockIndex = compileBlockIndex({
  version: 0,
  blocks: [],
  limitOverrides: {},
});

/** The keys of one call that blocks can match; undefined: this hook has no such key (or the call none). */
export type BlockKeys = Partial<Record<BlockMatchKind, string | undefined>>;

/** Match kinds in the order a call's keys are tried: the narrowest first, so a refusal names it. */
const KIND_ORDER: readonly BlockMatchKind[] = ['calling', 'called', 'origid', 'spc', 'customer', 'trunk'];

/** The first unexpired block of `action` matching any of `keys`. */
export function findBlock(
  index: BlockIndex,
  keys: BlockKeys,
  action: BlockAction,
  nowMs: number,
): Block | undefined {
  for (const kind of KIND_ORDER) {
    const v = keys[kind];
    if (v === undefined) continue;
    const b = index.find(kind, v, action, nowMs);
    if (b !== undefined) return b;
  }
  return undefined;
}

function push(map: Map<string, Block[]>, key: string, b: Block): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [b]);
  else list.push(b);
}

function firstActive(list: readonly Block[] | undefined, nowMs: number): Block | undefined {
  if (list === undefined) return undefined;
  for (const b of list) if (b.expires === null || b.expires > nowMs) return b;
  return undefined;
}
