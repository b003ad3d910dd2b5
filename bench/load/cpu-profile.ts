/**
 * Summarises a V8 .cpuprofile (node --cpu-prof) into self time per function and per source file, so the
 * load bench can say what limits the element at its maximum rate (function, TypeScript file:line through
 * the compiled files' source maps).
 */
import { readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
    readonly columnNumber: number;
  };
  readonly hitCount?: number;
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface ProfileEntry {
  /** `function (file:line)`; V8 pseudo-frames as they are, e.g. `(garbage collector)`. */
  readonly where: string;
  /** Share of the main thread's busy samples (idle excluded), percent. */
  readonly selfPct: number;
}

export interface ProfileSummary {
  readonly durationMs: number;
  /** Share of samples the main thread was not idle, percent (several profiles: over all their samples). */
  readonly busyPct: number;
  /** Profiles merged (one per cluster worker); absent for one. */
  readonly profiles?: number;
  /** Several profiles: each one's busy share, percent, in the order given. */
  readonly busyPctEach?: readonly number[];
  readonly functions: readonly ProfileEntry[];
  readonly files: readonly ProfileEntry[];
}

function shortPath(path: string, root: string): string {
  const rel = relative(root, path);
  return rel.startsWith('..') ? path : rel;
}

/** Maps compiled positions back to the TypeScript sources through the `.js.map` files tsc writes. */
class SourceLocator {
  readonly #maps = new Map<string, SourceMap | null>();
  constructor(private readonly root: string) {}

  async where(url: string, line: number, column: number): Promise<string> {
    if (url === '') return '';
    if (url.startsWith('node:')) return `${url}:${line + 1}`;
    let path: string;
    try {
      path = url.startsWith('file:') ? fileURLToPath(url) : url;
    } catch {
      return `${url}:${line + 1}`;
    }
    let map = this.#maps.get(path);
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(await readFile(`${path}.map`, 'utf8')));
      } catch {
        map = null;
      }
      this.#maps.set(path, map);
    }
    const entry = map?.findEntry(line, column) as
      | { originalSource?: string; originalLine?: number }
      | undefined;
    if (entry?.originalSource !== undefined && entry.originalLine !== undefined) {
      const source = entry.originalSource.startsWith('file:')
        ? fileURLToPath(entry.originalSource)
        : resolve(dirname(path), entry.originalSource);
      return `${shortPath(source, this.root)}:${entry.originalLine + 1}`;
    }
    return `${shortPath(path, this.root)}:${line + 1}`;
  }
}

/**
 * Self time by function and by file. Several profiles (one per cluster worker, same code) are merged: their
 * self times added per function, the shares taken of all their busy samples together.
 */
export async function summariseProfile(
  file: string | readonly string[],
  root: string,
  top = 15,
): Promise<ProfileSummary> {
  const list = typeof file === 'string' ? [file] : file;
  let total = 0;
  let idle = 0;
  let durationMs = 0;
  const busyPctEach: number[] = [];
  const fn = new Map<string, number>();
  const files = new Map<string, number>();
  const locate = new SourceLocator(root);
  for (const f of list) {
    const profile = JSON.parse(await readFile(f, 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<number, number>();
    if (profile.samples && profile.timeDeltas) {
      profile.samples.forEach((id, i) => {
        self.set(id, (self.get(id) ?? 0) + Math.max(0, profile.timeDeltas![i] ?? 0));
      });
    } else {
      for (const n of profile.nodes) self.set(n.id, n.hitCount ?? 0);
    }
    let pTotal = 0;
    let pIdle = 0;
    for (const [id, t] of self) {
      const node = byId.get(id);
      if (node === undefined) continue;
      pTotal += t;
      const { functionName, url, lineNumber, columnNumber } = node.callFrame;
      if (functionName === '(idle)') {
        pIdle += t;
        continue;
      }
      const at = await locate.where(url, lineNumber, columnNumber);
      const name = functionName || '(anonymous)';
      const where = at === '' ? name : `${name} (${at})`;
      fn.set(where, (fn.get(where) ?? 0) + t);
      const fileKey = at === '' ? name : at.slice(0, at.lastIndexOf(':'));
      files.set(fileKey, (files.get(fileKey) ?? 0) + t);
    }
    total += pTotal;
    idle += pIdle;
    durationMs = Math.max(durationMs, (profile.endTime - profile.startTime) / 1000);
    busyPctEach.push(pTotal > 0 ? Math.round((1000 * (pTotal - pIdle)) / pTotal) / 10 : 0);
  }
  const busy = total - idle;
  const rank = (m: Map<string, number>): ProfileEntry[] =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, t]) => ({ where, selfPct: busy > 0 ? Math.round((1000 * t) / busy) / 10 : 0 }));
  return {
    durationMs,
    busyPct: total > 0 ? Math.round((1000 * (total - idle)) / total) / 10 : 0,
    ...(list.length > 1 ? { profiles: list.length, busyPctEach } : {}),
    functions: rank(fn),
    files: rank(files),
  };
}
