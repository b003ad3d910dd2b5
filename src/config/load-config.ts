import { readFile } from 'node:fs/promises';
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import {
  formatPath,
  INVALID,
  type Path,
  type PathProblem,
  showValue,
  ValidationContext,
} from './combinators.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import { DEFAULT_CONFIG_SOURCE, DEFAULT_CONFIG_YAML } from './default-config.js';
import { configSchema, parseHostPort } from './schema.js';
import type { Config, CustomerConfig } from './types.js';

export interface ParseOptions {
  /** Environment read for overrides (`ENV_OVERRIDES`); no overrides when absent. */
  readonly env?: NodeJS.ProcessEnv;
  /** Replaces `{version}` in `sip.user_agent` (main passes the release); `dev` when absent. */
  readonly version?: string;
}

export interface LoadOptions extends ParseOptions {
  /** YAML file; the embedded default (`DEFAULT_CONFIG_YAML`) when absent. */
  readonly file?: string;
}

/**
 * Environment variables that override one key each, applied on top of the file before validation (so their
 * values are validated like the file's). Unset or empty = no override.
 * - `STIRGATE_LISTEN`: comma-separated `udp:HOST:PORT`, `tcp:HOST:PORT`, or `HOST:PORT` (both transports);
 *   IPv6 as `[::1]:5060`. Replaces the whole `listen` list.
 * - `STIRGATE_METRICS_LISTEN`: `HOST:PORT`, or `off`.
 * - `STIRGATE_WORKERS`: an integer.
 */
export const ENV_OVERRIDES = {
  STIRGATE_LOG_LEVEL: 'log.level',
  STIRGATE_LISTEN: 'listen',
  STIRGATE_DATA_DIR: 'data_dir',
  STIRGATE_METRICS_LISTEN: 'metrics.listen',
  STIRGATE_WORKERS: 'workers',
} as const;

type EnvName = keyof typeof ENV_OVERRIDES;

/**
 * Parses and validates YAML text into a frozen `Config`. Throws `ConfigError` (`code: 'invalid_config'`) with
 * every problem found: YAML syntax (with line/column), unknown keys, wrong types, bad values, undefined or
 * duplicate names, keys on the wrong trunk role.
 */
export function parseConfig(yamlText: string, sourceName: string, opts?: ParseOptions): Config {
  const result = validate(yamlText, opts?.env);
  if (!result.ok) throw new ConfigError('invalid_config', sourceName, result.problems);
  const config = result.config;
  const ua = config.sip.userAgent.replaceAll('{version}', opts?.version ?? 'dev');
  return deepFreeze({ ...config, sip: { ...config.sip, userAgent: ua } });
}

/** Reads `opts.file` (or takes the embedded default), applies env overrides, validates, freezes. */
export async function loadConfig(opts: LoadOptions = {}): Promise<Config> {
  if (opts.file === undefined) return parseConfig(DEFAULT_CONFIG_YAML, DEFAULT_CONFIG_SOURCE, opts);
  return parseConfig(await readText(opts.file), opts.file, opts);
}

export type CheckResult =
  | { readonly ok: true; readonly config: Config }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** For `stirgate config check FILE`: the file alone (no env overrides), every problem, never throws. */
export async function checkConfigFile(file: string): Promise<CheckResult> {
  try {
    return { ok: true, config: parseConfig(await readText(file), file) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, problems: err.problems };
    throw err;
  }
}

/** Names of customers without an `origid`: main generates one each, keeps it in data_dir, then `withOrigids`. */
export function missingOrigids(config: Config): string[] {
  return config.customers.filter((c) => c.origid === undefined).map((c) => c.name);
}

/**
 * A new frozen Config with the given origids (customer name -> UUID) filled in where the file had none.
 * Throws `ConfigError` for an unknown customer or a value that is not a UUID.
 */
export function withOrigids(config: Config, origids: Readonly<Record<string, string>>): Config {
  const problems: ConfigProblem[] = [];
  const names = new Set(config.customers.map((c) => c.name));
  for (const [name, id] of Object.entries(origids)) {
    if (!names.has(name))
      problems.push({
        path: 'customers',
        code: 'undefined_reference',
        message: `customer ${showValue(name)} is not defined`,
      });
    else if (!UUID.test(id))
      problems.push({
        path: 'customers',
        code: 'invalid_value',
        message: `origid ${showValue(id)} for ${showValue(name)} is not a UUID`,
      });
  }
  if (problems.length > 0) throw new ConfigError('invalid_config', 'origids', problems);
  const customers = config.customers.map(
    (c): CustomerConfig =>
      c.origid === undefined && origids[c.name] !== undefined
        ? { ...c, origid: origids[c.name]!.toLowerCase() }
        : c,
  );
  return deepFreeze({ ...config, customers });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------------------------------------------------

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError(
      'read_failed',
      file,
      [{ path: '(file)', code: 'read_failed', message: `cannot read: ${reason}` }],
      { cause: err },
    );
  }
}

type Validated = { ok: true; config: Config } | { ok: false; problems: ConfigProblem[] };

function validate(yamlText: string, env: NodeJS.ProcessEnv | undefined): Validated {
  const lineCounter = new LineCounter();
  // Merge keys (`<<: *base`) let large trunk lists share settings.
  const doc = parseDocument(yamlText, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  const syntax: ConfigProblem[] = doc.errors.map((e) => {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    const message =
      e.code === 'MULTIPLE_DOCS' ? 'only one YAML document is allowed' : e.message.split('\n')[0]!;
    return { path: '(yaml)', code: 'yaml_syntax', message, line, column: col };
  });
  if (syntax.length > 0) return { ok: false, problems: syntax };

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (err) {
    return {
      ok: false,
      problems: [{ path: '(yaml)', code: 'yaml_syntax', message: (err as Error).message.split('\n')[0]! }],
    };
  }

  const ctx = new ValidationContext();
  const fromEnv = env === undefined ? new Map<string, EnvName>() : applyEnv(raw, env, ctx);
  const value = configSchema.parse(raw, [], ctx);
  ctx.resolveReferences();
  if (ctx.problems.length === 0 && value !== INVALID) return { ok: true, config: value };

  const problems = ctx.problems.map((p) => toConfigProblem(p, doc, lineCounter, fromEnv));
  // Document order; problems without a position (env, unresolvable) last, in discovery order.
  problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity) || (a.column ?? 0) - (b.column ?? 0));
  return { ok: false, problems };
}

function toConfigProblem(
  p: PathProblem,
  doc: Document,
  lc: LineCounter,
  fromEnv: ReadonlyMap<string, EnvName>,
): ConfigProblem {
  const path = formatPath(p.path);
  for (const [prefix, name] of fromEnv) {
    if (path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`)) {
      return { path, code: p.code, message: `${p.message} (from ${name})` };
    }
  }
  // Problems in the env text itself (`STIRGATE_LISTEN[1]`) have no place in the file.
  if (typeof p.path[0] === 'string' && p.path[0] in ENV_OVERRIDES)
    return { path, code: p.code, message: p.message };
  const offset = locate(doc, p.path);
  if (offset === undefined) return { path, code: p.code, message: p.message };
  const { line, col } = lc.linePos(offset);
  return { path, code: p.code, message: p.message, line, column: col };
}

/** Source offset of the deepest node on `path`: the key for a mapping entry, the item for a list entry. */
function locate(doc: Document, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let offset = (node as { range?: [number, number, number] } | null)?.range?.[0];
  for (const seg of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((it) => isScalar(it.key) && String(it.key.value) === String(seg));
      if (pair === undefined) break;
      offset = (pair.key as { range?: [number, number, number] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as { range?: [number, number, number] } | undefined;
      if (item === undefined) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

/** Writes env overrides into the raw tree; returns YAML path -> variable for messages. */
function applyEnv(raw: unknown, env: NodeJS.ProcessEnv, ctx: ValidationContext): Map<string, EnvName> {
  const applied = new Map<string, EnvName>();
  if (!isRecord(raw)) return applied;
  for (const name of Object.keys(ENV_OVERRIDES) as EnvName[]) {
    const text = env[name]?.trim();
    if (text === undefined || text === '') continue;
    const yamlPath = ENV_OVERRIDES[name];
    let value: unknown = text;
    if (name === 'STIRGATE_LISTEN') {
      value = parseListenEnv(text, name, ctx);
      if (value === INVALID) continue;
    } else if (name === 'STIRGATE_METRICS_LISTEN' && text === 'off') {
      value = '';
    } else if (name === 'STIRGATE_WORKERS' && /^\d+$/.test(text)) {
      value = Number(text); // anything else reaches the schema as text and is reported there
    }
    const keys = yamlPath.split('.');
    let parent: Record<string, unknown> = raw;
    let ok = true;
    for (const k of keys.slice(0, -1)) {
      const next = parent[k] ?? {};
      if (!isRecord(next)) {
        ok = false; // the file has a wrong type here; the schema reports it
        break;
      }
      parent[k] = next;
      parent = next;
    }
    if (!ok) continue;
    parent[keys[keys.length - 1]!] = value;
    applied.set(yamlPath, name);
  }
  return applied;
}

function parseListenEnv(text: string, name: EnvName, ctx: ValidationContext): unknown[] | typeof INVALID {
  const out: unknown[] = [];
  let bad = false;
  for (const [i, entry] of text
    .split(',')
    .map((s) => s.trim())
    .entries()) {
    const m = /^(?:(udp|tcp):)?(.+)$/i.exec(entry);
    const hp = m === null ? undefined : parseHostPort(m[2]!);
    if (m === null || hp === undefined) {
      ctx.report([name, i], 'invalid_value', `${showValue(entry)} is not [udp:|tcp:]HOST:PORT`);
      bad = true;
      continue;
    }
    const transports = m[1] === undefined ? ['udp', 'tcp'] : [m[1].toLowerCase()];
    for (const transport of transports) out.push({ transport, address: hp.address, port: hp.port });
  }
  return bad ? INVALID : out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
