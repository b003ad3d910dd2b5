import type { Config } from './types.js';

/**
 * A configuration that loads but gives the element nothing (or less than it seems) to do. Not an error:
 * `stirgate config check` prints each on stderr and exits 0, and the element logs each at warn when it
 * starts. Branch on `code`.
 */
export type ConfigWarningCode =
  | 'no_trunks' // no trunk and unmatched_source rejects: every INVITE is refused
  | 'unused_route' // a route no trunk and no unmatched_source passthrough sends calls to
  | 'no_trust_roots'; // stir.verification.trust_roots_dir holds no certificate: every verification fails

export interface ConfigWarning {
  /** Key path in YAML spelling, like ConfigProblem.path. */
  readonly path: string;
  readonly code: ConfigWarningCode;
  readonly message: string;
}

/** Warnings that need the configuration only (no files); src/app/config-files.ts adds the files' own. */
export function configWarnings(config: Config): ConfigWarning[] {
  const out: ConfigWarning[] = [];
  const passthrough = config.unmatchedSource.action === 'passthrough';
  if (config.trunks.length === 0 && !passthrough) {
    out.push({
      path: 'trunks',
      code: 'no_trunks',
      message: `no trunk is configured and unmatched_source rejects: every INVITE gets ${config.unmatchedSource.status}`,
    });
  }
  const used = new Set(config.trunks.map((t) => t.route));
  if (passthrough && config.unmatchedSource.route !== undefined) used.add(config.unmatchedSource.route);
  config.routes.forEach((r, i) => {
    if (!used.has(r.name)) {
      out.push({
        path: `routes[${i}]`,
        code: 'unused_route',
        message: `route "${r.name}" is used by no trunk and not by unmatched_source: no call goes to it`,
      });
    }
  });
  return out;
}
