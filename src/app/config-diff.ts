import type { Config } from '../config/index.js';

/**
 * Which parts of the configuration a reload applies (docs/operations.md, "Reloading the configuration"):
 * `true` takes the whole subtree, an object names the reloadable keys under it. Every other key (listen,
 * workers, worker_udp_port_base, data_dir, admin, metrics, stir, traceback, the other `sip` keys) is bound at
 * start (sockets, processes, files, keys): a change to it is reported as needing a restart and the running
 * value is kept.
 */
type ReloadRule = true | { readonly [key: string]: ReloadRule };

const RELOADABLE: { readonly [key: string]: ReloadRule } = {
  trunks: true,
  routes: true,
  customers: true,
  unmatchedSource: true,
  sip: { callLimits: true },
  log: { level: true },
  // Customer limits, destination permissions and classes, do-not-originate, marks (docs/config.md `policy`).
  policy: true,
};

export interface ConfigDiff {
  /** Paths (YAML spelling) whose new value the reload applies. */
  readonly changed: readonly string[];
  /** Paths (YAML spelling) whose change needs a restart; the running value stays. */
  readonly restartRequired: readonly string[];
}

/** What differs between the running configuration and a new one, split by what a reload can apply. */
export function diffConfig(running: Config, next: Config): ConfigDiff {
  const changed: string[] = [];
  const restartRequired: string[] = [];
  const walk = (a: unknown, b: unknown, rules: ReloadRule | undefined, path: string): void => {
    if (sameValue(a, b)) return;
    if (rules === true) changed.push(path);
    else if (rules === undefined || !isRecord(a) || !isRecord(b)) restartRequired.push(path);
    else for (const key of keysOf(a, b)) walk(a[key], b[key], rules[key], join(path, key));
  };
  walk(running, next, RELOADABLE, '');
  return { changed, restartRequired };
}

/** The configuration a reload leaves running: the reloadable parts of `next`, everything else of `running`. */
export function mergeReloadable(running: Config, next: Config): Config {
  const merge = (a: unknown, b: unknown, rules: ReloadRule | undefined): unknown => {
    if (rules === true) return b;
    if (rules === undefined || !isRecord(a) || !isRecord(b)) return a;
    const out: Record<string, unknown> = {};
    for (const key of keysOf(a, b)) {
      const v = merge(a[key], b[key], rules[key]);
      if (v !== undefined) out[key] = v;
    }
    return Object.freeze(out);
  };
  return merge(running, next, RELOADABLE) as Config;
}

/**
 * Structural equality of plain configuration data, a key whose value is undefined counting as absent (a
 * configuration that crossed the cluster IPC as JSON has lost those keys).
 */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => sameValue(x, b[i]));
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  return keysOf(a, b).every((k) => sameValue(a[k], b[k]));
}

function keysOf(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set<string>();
  for (const k of Object.keys(a)) if (a[k] !== undefined) keys.add(k);
  for (const k of Object.keys(b)) if (b[k] !== undefined) keys.add(k);
  return [...keys];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `sip` + `callLimits` -> `sip.call_limits`: the path as the YAML file spells it. */
function join(path: string, key: string): string {
  const yaml = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return path === '' ? yaml : `${path}.${yaml}`;
}
