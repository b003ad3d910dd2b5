/**
 * Compares two V8 heap snapshots (element-probe.ts `/heap`) of the element under test: self size and count
 * per constructor (or V8 node type), so the memory held per established call is attributed to the objects
 * that hold it (Call, Dialog, SipRequest, strings, Map backing stores, timers...).
 */
import { readFile } from 'node:fs/promises';

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: [string[]] } };
  readonly nodes: number[];
  readonly strings: string[];
}

export interface HeapClass {
  /** `Constructor` for objects, `(type) name` for V8 internals, e.g. `(string)`, `(array) (object elements)`. */
  readonly name: string;
  readonly count: number;
  readonly bytes: number;
}

async function aggregate(file: string): Promise<Map<string, { count: number; bytes: number }>> {
  const snap = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const stride = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += stride) {
    const type = types[snap.nodes[i + iType]!] ?? 'unknown';
    const name = snap.strings[snap.nodes[i + iName]!] ?? '';
    const key =
      type === 'object' || type === 'closure'
        ? `${type === 'closure' ? 'closure ' : ''}${name}`
        : type === 'string' || type === 'concatenated string' || type === 'sliced string'
          ? '(string)'
          : `(${type}) ${name.length > 40 ? `${name.slice(0, 40)}…` : name}`;
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += snap.nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

/** Several snapshots (one per cluster worker) aggregated as one heap: counts and sizes summed per name. */
async function aggregateAll(
  files: readonly string[],
): Promise<Map<string, { count: number; bytes: number }>> {
  const out = new Map<string, { count: number; bytes: number }>();
  for (const file of files) {
    for (const [name, e] of await aggregate(file)) {
      const o = out.get(name) ?? { count: 0, bytes: 0 };
      o.count += e.count;
      o.bytes += e.bytes;
      out.set(name, o);
    }
  }
  return out;
}

/**
 * What grew from `before` to `after`, per call (divided by `calls`), largest first. Several files per side
 * (one snapshot per cluster worker, the calls spread over them) are summed first.
 */
export async function heapGrowthPerCall(
  before: string | readonly string[],
  after: string | readonly string[],
  calls: number,
  top = 15,
): Promise<HeapClass[]> {
  const a = await aggregateAll(typeof before === 'string' ? [before] : before);
  const b = await aggregateAll(typeof after === 'string' ? [after] : after);
  const rows: HeapClass[] = [];
  for (const [name, e] of b) {
    const p = a.get(name) ?? { count: 0, bytes: 0 };
    const bytes = (e.bytes - p.bytes) / calls;
    if (bytes > 0) rows.push({ name, count: (e.count - p.count) / calls, bytes });
  }
  return rows.sort((x, y) => y.bytes - x.bytes).slice(0, top);
}
