import { StirgateError } from '../errors.js';

/** Why one configuration value was refused. Tests and tools branch on this, never on the message. */
export type ConfigProblemCode =
  | 'read_failed' // the file could not be read
  | 'yaml_syntax' // the file is not well-formed YAML
  | 'unknown_key' // a key the schema does not know (often a typo)
  | 'wrong_type' // e.g. a string where an integer is expected
  | 'required' // a required key is absent
  | 'out_of_range' // number outside its range, list too short
  | 'invalid_value' // right type, wrong shape (CIDR, UUID, host:port, enum member...)
  | 'duplicate' // a name or entry that must be unique appears twice
  | 'undefined_reference' // a route/trunk name that is not defined
  | 'wrong_role' // a key or reference that does not fit the trunk's role
  | 'conflict'; // keys that cannot be used together, or an inconsistent combination

export interface ConfigProblem {
  /** Key path in YAML spelling, e.g. `trunks[1].match.sources[0]`; `(root)` for the whole document. */
  readonly path: string;
  readonly code: ConfigProblemCode;
  /** Reads after `path: `, e.g. `"10.0.0.0/33" is not a valid CIDR`. */
  readonly message: string;
  /** 1-based position in the source, when the value came from a file. */
  readonly line?: number;
  readonly column?: number;
}

/** Stable codes for a failed load. */
export type ConfigErrorCode = 'invalid_config' | 'read_failed';

/** One problem as a line: `path: message (source:line:column)`. */
export function formatProblem(p: ConfigProblem, sourceName?: string): string {
  const where =
    p.line === undefined
      ? ''
      : ` (${sourceName === undefined ? '' : `${sourceName}:`}${p.line}:${p.column ?? 1})`;
  return `${p.path}: ${p.message}${where}`;
}

/**
 * Thrown by `parseConfig` / `loadConfig`. `problems` lists every problem found, not just the first; the
 * message has a header line then one problem per line, each starting with its path.
 */
export class ConfigError extends StirgateError<ConfigErrorCode> {
  readonly sourceName: string;
  readonly problems: readonly ConfigProblem[];

  constructor(
    code: ConfigErrorCode,
    sourceName: string,
    problems: readonly ConfigProblem[],
    options?: { cause?: unknown },
  ) {
    const n = problems.length;
    const head =
      code === 'read_failed'
        ? `cannot read configuration ${sourceName}`
        : `invalid configuration ${sourceName} (${n} problem${n === 1 ? '' : 's'})`;
    super(code, [`${head}:`, ...problems.map((p) => formatProblem(p, sourceName))].join('\n'), options);
    this.sourceName = sourceName;
    this.problems = problems;
  }
}
