import type { TrunkRole } from '../b2bua/router.js';
import { type Config, ConfigError, type ConfigProblem, loadConfig } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { LiveValue } from '../policy/controls.js';
import { diffConfig, mergeReloadable } from './config-diff.js';
import { ensureOrigids } from './origids-file.js';
import { StartupError } from './startup-error.js';
import { rolesOf } from './state.js';

/** One reason a reload was refused; `path` in YAML spelling, as `stirgate config check` prints it. */
export interface ReloadProblem {
  readonly path: string;
  readonly message: string;
  /** 1-based line in the configuration file, when the problem is at a value of it. */
  readonly line?: number;
}

/**
 * What a reload did: applied (`changed`: what new calls now get; `restartRequired`: changes kept for the
 * next start, the running value staying), or refused with every problem, the running configuration staying.
 */
export type ReloadOutcome =
  | { readonly ok: true; readonly changed: readonly string[]; readonly restartRequired: readonly string[] }
  | { readonly ok: false; readonly problems: readonly ReloadProblem[] };

/** Where the running configuration came from, so that a reload reads it the same way. */
export interface ConfigSource {
  /** The YAML file; absent when the element runs the embedded default (nothing to re-read). */
  readonly file?: string;
  /** Environment overrides (src/config/load-config.ts `ENV_OVERRIDES`), applied again on reload. */
  readonly env?: NodeJS.ProcessEnv;
  /** Expands `{version}` in `sip.user_agent`. */
  readonly version?: string;
}

export interface ReloaderOptions {
  /** The running configuration; set to the merged one after a reload applies. */
  readonly live: LiveValue<Config>;
  readonly source: ConfigSource | undefined;
  /**
   * The trunk roles whose STIR services (signing, verification) were started: a new configuration that
   * needs another one is refused, because its calls would pass unsigned or unverified.
   */
  readonly startedRoles: ReadonlySet<TrunkRole>;
  /**
   * Puts the merged configuration in service, all or nothing: builds (any file I/O here) and then swaps. The
   * problems it returns refuse the reload; a throw is one problem.
   */
  readonly apply: (merged: Config) => Promise<readonly ReloadProblem[]>;
  /** Its level follows `log.level`. */
  readonly logger: Logger;
}

/**
 * Reloads of one process, one at a time (a SIGHUP during an API reload waits for it): read and validate the
 * file, fill in origids as at start, refuse what the running services cannot serve, then apply the
 * reloadable part and keep the running value of the rest (src/app/config-diff.ts).
 */
export class Reloader {
  readonly #o: ReloaderOptions;
  #last: Promise<unknown> = Promise.resolve();

  constructor(opts: ReloaderOptions) {
    this.#o = opts;
  }

  /**
   * Re-read the configuration file; or, with `next` (a cluster worker, from a primary that validated the
   * file), apply that configuration.
   */
  reload(next?: Config): Promise<ReloadOutcome> {
    const run = this.#last.then(() => this.#reload(next));
    this.#last = run.catch(() => {});
    return run;
  }

  async #reload(given: Config | undefined): Promise<ReloadOutcome> {
    const read =
      given === undefined ? await readConfig(this.#o.source) : { ok: true as const, config: given };
    if (!read.ok) return read;
    const prepared = await withOrigids(read.config);
    if (!prepared.ok) return prepared;
    const next = prepared.config;
    const unserved = unservedRoles(next, this.#o.startedRoles);
    if (unserved.length > 0) return { ok: false, problems: unserved };
    const running = this.#o.live.current;
    const { changed, restartRequired } = diffConfig(running, next);
    if (changed.length === 0) return { ok: true, changed, restartRequired };
    const merged = mergeReloadable(running, next);
    let problems: readonly ReloadProblem[];
    try {
      problems = await this.#o.apply(merged);
    } catch (err) {
      problems = [{ path: '(reload)', message: err instanceof Error ? err.message : String(err) }];
    }
    if (problems.length > 0) return { ok: false, problems };
    this.#o.logger.level = merged.log.level;
    this.#o.live.set(merged);
    return { ok: true, changed, restartRequired };
  }
}

type ReadResult = { readonly ok: true; readonly config: Config } | Extract<ReloadOutcome, { ok: false }>;

/** The configuration file read and validated as at start (same env overrides); every problem when not. */
export async function readConfig(source: ConfigSource | undefined): Promise<ReadResult> {
  if (source?.file === undefined)
    return {
      ok: false,
      problems: [
        {
          path: '(file)',
          message:
            'started with the embedded default configuration: there is no file to re-read (start with --config FILE)',
        },
      ],
    };
  try {
    const config = await loadConfig({
      file: source.file,
      ...(source.env !== undefined ? { env: source.env } : {}),
      ...(source.version !== undefined ? { version: source.version } : {}),
    });
    return { ok: true, config };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, problems: err.problems.map(problemOf) };
    throw err;
  }
}

/** Origids of customers configured without one, from `<data_dir>/origids.json` as at start (ATIS-1000074 §5.2.4). */
async function withOrigids(config: Config): Promise<ReadResult> {
  try {
    return { ok: true, config: await ensureOrigids(config) };
  } catch (err) {
    if (err instanceof ConfigError) return { ok: false, problems: err.problems.map(problemOf) };
    if (err instanceof StartupError)
      return { ok: false, problems: [{ path: 'customers', message: err.message }] };
    throw err;
  }
}

/** Trunks of a role whose STIR service this process did not start (signing for originating, verification for terminating). */
function unservedRoles(next: Config, started: ReadonlySet<TrunkRole>): ReloadProblem[] {
  const problems: ReloadProblem[] = [];
  const service = { originating: 'signing', terminating: 'verification' } as const;
  for (const role of ['originating', 'terminating'] as const) {
    if (!rolesOf(next).has(role) || started.has(role)) continue;
    const i = next.trunks.findIndex((t) => t.role === role);
    problems.push({
      path: `trunks[${i}].role`,
      message: `${role} trunks need ${service[role]}, which starts only with the element; restart to add the first ${role} trunk`,
    });
  }
  return problems;
}

function problemOf(p: ConfigProblem): ReloadProblem {
  return { path: p.path, message: p.message, ...(p.line !== undefined ? { line: p.line } : {}) };
}

/** The outcome in the log: applied at info (warn when a change waits for a restart), refused at error with every problem. */
export function logReloadOutcome(logger: Logger, outcome: ReloadOutcome, trigger: string): void {
  if (outcome.ok) {
    const fields = { event: 'config_reloaded', trigger, changed: outcome.changed };
    if (outcome.restartRequired.length === 0) logger.info(fields, 'configuration reloaded');
    else
      logger.warn(
        { ...fields, restartRequired: outcome.restartRequired },
        'configuration reloaded; some changes need a restart and are not applied',
      );
    return;
  }
  for (const p of outcome.problems)
    logger.error(
      { event: 'config_reload_problem', path: p.path, ...(p.line !== undefined ? { line: p.line } : {}) },
      `${p.path}: ${p.message}`,
    );
  logger.error(
    { event: 'config_reload_refused', trigger, problems: outcome.problems.length },
    'configuration reload refused; the running configuration stays',
  );
}
