import type { ConfigProblemCode } from './config-error.js';

/**
 * A small typed validator for configuration trees. Each schema parses an `unknown` value at a path and either
 * returns the typed value or `INVALID`, reporting every problem to a shared context (all problems, not just the
 * first). Objects know their keys (YAML snake_case, TS camelCase), fill defaults and refuse unknown keys. The
 * context also keeps a symbol table so references (trunk -> route, customer -> trunk) are resolved after the
 * whole tree has been seen.
 */

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

export const INVALID: unique symbol = Symbol('invalid');
export type Invalid = typeof INVALID;

export interface PathProblem {
  readonly path: Path;
  readonly code: ConfigProblemCode;
  readonly message: string;
}

/** `trunks[1].match.sources[0]`; `(root)` for the empty path. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out === '' ? '(root)' : out;
}

/** `maxMessageBytes` -> `max_message_bytes`, `t1Ms` -> `t1_ms`, `x5uUrl` -> `x5u_url`. */
export function snakeCase(camel: string): string {
  return camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** Short, safe rendering of an offending value for a message. */
export function showValue(v: unknown): string {
  if (typeof v === 'string') {
    const s = JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
    return s;
  }
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function describeInput(v: unknown): string {
  if (typeof v === 'string') return `string ${showValue(v)}`;
  if (typeof v === 'number') return `number ${v}`;
  if (typeof v === 'boolean') return `boolean ${v}`;
  return showValue(v);
}

interface SymbolEntry {
  readonly path: Path;
  readonly attr: string | undefined;
}

interface PendingRef {
  readonly kind: string;
  readonly name: string;
  readonly path: Path;
  readonly requireAttr: string | undefined;
}

export class ValidationContext {
  readonly problems: PathProblem[] = [];
  readonly #symbols = new Map<string, Map<string, SymbolEntry>>();
  readonly #incomplete = new Set<string>();
  readonly #refs: PendingRef[] = [];

  report(path: Path, code: ConfigProblemCode, message: string): Invalid {
    this.problems.push({ path, code, message });
    return INVALID;
  }

  /**
   * Declares `name` of `kind` at `path`. A second declaration of the same name is a `duplicate` problem.
   * `attr` is a property references may require (a trunk's role).
   */
  define(
    kind: string,
    name: string,
    path: Path,
    opts?: { attr?: string; duplicate?: (first: string) => string },
  ): void {
    let table = this.#symbols.get(kind);
    if (table === undefined) {
      table = new Map();
      this.#symbols.set(kind, table);
    }
    const first = table.get(name);
    if (first !== undefined) {
      const firstAt = formatPath(first.path);
      this.report(
        path,
        'duplicate',
        opts?.duplicate?.(firstAt) ??
          `duplicate ${kind} name ${showValue(name)} (first defined at ${firstAt})`,
      );
      return;
    }
    table.set(name, { path, attr: opts?.attr });
  }

  /** Some declaration of `kind` could not be read: unresolved references to it are not reported. */
  markIncomplete(kind: string): void {
    this.#incomplete.add(kind);
  }

  /** A reference resolved by `resolveReferences` once every declaration has been seen. */
  reference(kind: string, name: string, path: Path, requireAttr?: string): void {
    this.#refs.push({ kind, name, path, requireAttr });
  }

  resolveReferences(): void {
    for (const ref of this.#refs) {
      const table = this.#symbols.get(ref.kind);
      const entry = table?.get(ref.name);
      if (entry === undefined) {
        if (this.#incomplete.has(ref.kind)) continue;
        const known = [...(table?.keys() ?? [])];
        const list = known.length === 0 ? `no ${ref.kind}s are defined` : `defined: ${known.join(', ')}`;
        this.report(
          ref.path,
          'undefined_reference',
          `${ref.kind} ${showValue(ref.name)} is not defined (${list})`,
        );
        continue;
      }
      if (ref.requireAttr !== undefined && entry.attr !== undefined && entry.attr !== ref.requireAttr) {
        this.report(
          ref.path,
          'wrong_role',
          `${ref.kind} ${showValue(ref.name)} is ${entry.attr} (at ${formatPath(entry.path)}), expected ${ref.requireAttr}`,
        );
      }
    }
    this.#refs.length = 0;
  }
}

/** Documentation shape of a schema: what `describeConfig` walks. */
export type SchemaShape =
  | { readonly kind: 'leaf' }
  | { readonly kind: 'object'; readonly fields: readonly FieldInfo[] }
  | { readonly kind: 'array'; readonly item: Schema<unknown> }
  | {
      readonly kind: 'union';
      readonly tag: string;
      readonly variants: readonly (readonly [string, ObjectSchema<object>])[];
    };

export interface Schema<T> {
  /** Human description, used in messages (`expected <type>`) and in docs/config.md. */
  readonly type: string;
  readonly shape: SchemaShape;
  parse(input: unknown, at: Path, ctx: ValidationContext): T | Invalid;
}

export type FieldMode = 'required' | 'default' | 'optional';

export interface Field<T> {
  readonly schema: Schema<unknown>;
  readonly mode: FieldMode;
  /** Raw (YAML-side) default, parsed through `schema` when the key is absent, so nested defaults apply. */
  readonly defaultValue?: unknown;
  /** One sentence for docs/config.md. */
  readonly meaning: string;
  /** Phantom: the parsed type. */
  readonly __type?: T;
}

export interface FieldInfo extends Field<unknown> {
  readonly key: string;
  readonly yamlKey: string;
}

export function required<T>(schema: Schema<T>, meaning: string): Field<T> {
  return { schema, mode: 'required', meaning };
}

export function defaulted<T>(schema: Schema<T>, defaultValue: unknown, meaning: string): Field<T> {
  return { schema, mode: 'default', defaultValue, meaning };
}

export function optional<T>(schema: Schema<T>, meaning: string): Field<T | undefined> {
  return { schema, mode: 'optional', meaning };
}

export type Fields<T> = { readonly [K in keyof T]-?: Field<T[K]> };

function leaf<T>(
  type: string,
  parse: (input: unknown, at: Path, ctx: ValidationContext) => T | Invalid,
): Schema<T> {
  return { type, shape: { kind: 'leaf' }, parse };
}

function wrongType(ctx: ValidationContext, at: Path, type: string, input: unknown): Invalid {
  return ctx.report(at, 'wrong_type', `expected ${type}, got ${describeInput(input)}`);
}

export function string(opts?: { min?: number; max?: number; type?: string }): Schema<string> {
  const min = opts?.min ?? 0;
  const max = opts?.max ?? 4096;
  const type = opts?.type ?? (min > 0 ? 'non-empty string' : 'string');
  return leaf(type, (input, at, ctx) => {
    if (typeof input !== 'string') return wrongType(ctx, at, type, input);
    if (input.length < min)
      return ctx.report(
        at,
        'out_of_range',
        min === 1 ? 'must not be empty' : `must be at least ${min} characters`,
      );
    if (input.length > max) return ctx.report(at, 'out_of_range', `must be at most ${max} characters`);
    return input;
  });
}

export function integer(opts: { min: number; max: number }): Schema<number> {
  const type = `integer ${opts.min}..${opts.max}`;
  return leaf(type, (input, at, ctx) => {
    if (typeof input !== 'number' || !Number.isInteger(input)) return wrongType(ctx, at, 'integer', input);
    if (input < opts.min || input > opts.max) {
      return ctx.report(at, 'out_of_range', `must be between ${opts.min} and ${opts.max}, got ${input}`);
    }
    return input;
  });
}

export function boolean(): Schema<boolean> {
  return leaf('boolean', (input, at, ctx) =>
    typeof input === 'boolean' ? input : wrongType(ctx, at, 'boolean', input),
  );
}

export function oneOf<const V extends readonly string[]>(values: V): Schema<V[number]> {
  const set = new Set<string>(values);
  const type = values.join(' | ');
  return leaf(type, (input, at, ctx) => {
    if (typeof input !== 'string') return wrongType(ctx, at, `one of ${values.join(', ')}`, input);
    if (!set.has(input)) {
      return ctx.report(at, 'invalid_value', `${showValue(input)} is not one of ${values.join(', ')}`);
    }
    return input as V[number];
  });
}

/**
 * A schema that refines another: `fn` gets the parsed value and returns the final one, or reports through
 * `fail` (message reads after the path, e.g. `"x" is not a valid CIDR`).
 */
export function refine<T, U>(
  base: Schema<T>,
  type: string,
  fn: (
    value: T,
    fail: (message: string, code?: ConfigProblemCode) => Invalid,
    at: Path,
    ctx: ValidationContext,
  ) => U | Invalid,
): Schema<U> {
  return leaf(type, (input, at, ctx) => {
    const v = base.parse(input, at, ctx);
    if (v === INVALID) return INVALID;
    return fn(v, (message, code = 'invalid_value') => ctx.report(at, code, message), at, ctx);
  });
}

export function array<T>(
  item: Schema<T>,
  opts?: { min?: number; max?: number; uniqueBy?: (v: T) => string | undefined },
): Schema<readonly T[]> {
  const min = opts?.min ?? 0;
  const max = opts?.max ?? 100_000;
  const type = `list${min > 0 ? ` (at least ${min})` : ''} of ${item.type}`;
  return {
    type,
    shape: { kind: 'array', item },
    parse(input, at, ctx) {
      if (!Array.isArray(input)) return wrongType(ctx, at, 'a list', input);
      let ok = true;
      if (input.length < min) {
        ok = false;
        ctx.report(
          at,
          'out_of_range',
          min === 1 ? 'must have at least one entry' : `must have at least ${min} entries`,
        );
      }
      if (input.length > max) {
        return ctx.report(at, 'out_of_range', `must have at most ${max} entries, got ${input.length}`);
      }
      const out: T[] = [];
      const seen = opts?.uniqueBy === undefined ? undefined : new Map<string, number>();
      for (let i = 0; i < input.length; i++) {
        const itemAt = [...at, i];
        const v = item.parse(input[i], itemAt, ctx);
        if (v === INVALID) {
          ok = false;
          continue;
        }
        if (seen !== undefined && opts?.uniqueBy !== undefined) {
          const key = opts.uniqueBy(v);
          const first = key === undefined ? undefined : seen.get(key);
          if (first !== undefined) {
            ok = false;
            ctx.report(itemAt, 'duplicate', `duplicate entry (same as ${formatPath([...at, first])})`);
            continue;
          }
          if (key !== undefined) seen.set(key, i);
        }
        out.push(v);
      }
      return ok ? out : INVALID;
    },
  };
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

function suggestKey(key: string, known: Iterable<string>): string | undefined {
  const snake = snakeCase(key).replace(/-/g, '_').toLowerCase();
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    if (k === snake) return k;
    const d = editDistance(key, k);
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best;
}

/** What to do with a key this object does not know: report a specific problem, or ignore it. */
export type ExtraKeyHandler = (
  yamlKey: string,
) => { code: ConfigProblemCode; message: string } | 'ignore' | undefined;

export interface ObjectOptions<T> {
  /**
   * Runs after the fields, with the fields that parsed (others absent) and the raw mapping (to tell a given
   * key from a default). Cross-field rules and symbol declarations live here.
   */
  readonly check?: (
    value: Partial<T>,
    at: Path,
    ctx: ValidationContext,
    raw: Readonly<Record<string, unknown>>,
  ) => void;
}

export class ObjectSchema<T> implements Schema<T> {
  readonly type = 'mapping';
  readonly shape: SchemaShape;
  readonly fields: readonly FieldInfo[];
  readonly #byYamlKey: ReadonlyMap<string, FieldInfo>;
  readonly #check: ObjectOptions<T>['check'];

  constructor(fields: Fields<T>, opts?: ObjectOptions<T>) {
    this.fields = Object.entries(fields as Record<string, Field<unknown>>).map(([key, f]) => ({
      ...f,
      key,
      yamlKey: snakeCase(key),
    }));
    this.#byYamlKey = new Map(this.fields.map((f) => [f.yamlKey, f]));
    this.#check = opts?.check;
    this.shape = { kind: 'object', fields: this.fields };
  }

  hasKey(yamlKey: string): boolean {
    return this.#byYamlKey.has(yamlKey);
  }

  parse(input: unknown, at: Path, ctx: ValidationContext): T | Invalid {
    return this.parseWith(input, at, ctx);
  }

  parseWith(
    input: unknown,
    at: Path,
    ctx: ValidationContext,
    extra?: ExtraKeyHandler,
    skip?: ReadonlySet<string>,
  ): T | Invalid {
    if (!isMapping(input)) return wrongType(ctx, at, 'a mapping', input);
    const before = ctx.problems.length;
    for (const key of Object.keys(input)) {
      if (this.#byYamlKey.has(key)) continue;
      const special = extra?.(key);
      if (special === 'ignore') continue;
      if (special !== undefined) {
        ctx.report([...at, key], special.code, special.message);
        continue;
      }
      const hint = suggestKey(key, this.#byYamlKey.keys());
      ctx.report(
        [...at, key],
        'unknown_key',
        `unknown key${hint === undefined ? '' : ` (did you mean "${hint}"?)`}`,
      );
    }
    const out: Record<string, unknown> = {};
    for (const f of this.fields) {
      if (skip?.has(f.yamlKey)) continue;
      // A YAML key with no value (`key:`) reads as null: treated as absent.
      let raw = input[f.yamlKey];
      if (raw === null) raw = undefined;
      const fieldAt = [...at, f.yamlKey];
      if (raw === undefined) {
        if (f.mode === 'required') {
          ctx.report(fieldAt, 'required', 'is required');
          continue;
        }
        if (f.mode === 'optional') continue;
        raw = structuredClone(f.defaultValue);
      }
      const v = f.schema.parse(raw, fieldAt, ctx);
      if (v !== INVALID) out[f.key] = v;
    }
    this.#check?.(out as Partial<T>, at, ctx, input);
    return ctx.problems.length === before ? (out as T) : INVALID;
  }
}

export function object<T>(fields: Fields<T>, opts?: ObjectOptions<T>): ObjectSchema<T> {
  return new ObjectSchema<T>(fields, opts);
}

/**
 * A mapping whose `tag` key (e.g. `role`) picks one of several object schemas. A key that belongs to another
 * variant is reported as `wrong_role` with the variant it belongs to, instead of as an unknown key.
 */
export function tagged<T extends { readonly [P in K]: string }, K extends string & keyof T>(
  tag: K,
  variants: { readonly [V in T[K]]: ObjectSchema<Extract<T, { readonly [P in K]: V }>> },
  fallback: T[K],
): Schema<T> {
  const entries = Object.entries(variants) as [string, ObjectSchema<object>][];
  const yamlTag = snakeCase(tag);
  const names = entries.map(([name]) => name);
  const skipTag = new Set([yamlTag]);
  return {
    type: 'mapping',
    shape: { kind: 'union', tag, variants: entries },
    parse(input, at, ctx) {
      if (!isMapping(input)) return wrongType(ctx, at, 'a mapping', input);
      const tagValue = input[yamlTag];
      const chosen = entries.find(([name]) => name === tagValue);
      if (chosen === undefined) {
        if (tagValue === undefined || tagValue === null)
          ctx.report([...at, yamlTag], 'required', 'is required');
        else if (typeof tagValue !== 'string')
          wrongType(ctx, at.concat(yamlTag), `one of ${names.join(', ')}`, tagValue);
        else
          ctx.report(
            [...at, yamlTag],
            'invalid_value',
            `${showValue(tagValue)} is not one of ${names.join(', ')}`,
          );
        // Still validate the common keys so every problem shows in one run.
        const fb = (variants as Record<string, ObjectSchema<object>>)[fallback]!;
        fb.parseWith(
          input,
          at,
          ctx,
          (key) => (entries.some(([, s]) => s.hasKey(key)) ? 'ignore' : undefined),
          skipTag,
        );
        return INVALID;
      }
      const [name, schema] = chosen;
      const extra: ExtraKeyHandler = (key) => {
        const owners = entries.filter(([, s]) => s.hasKey(key)).map(([n]) => n);
        if (owners.length === 0) return undefined;
        return {
          code: 'wrong_role',
          message: `only allowed when ${yamlTag} is ${owners.join(' or ')} (this one is ${name})`,
        };
      };
      return schema.parseWith(input, at, ctx, extra) as T | Invalid;
    },
  };
}
