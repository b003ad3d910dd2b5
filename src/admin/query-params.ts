import { ApiError } from './api-error.js';

/** A query parameter's parser: its value, or why the text is not one. */
export type ParamParser<T> = (raw: string) => T | ParamInvalid;

export interface ParamInvalid {
  readonly invalid: string;
}

export type ParsedParams<S extends Record<string, ParamParser<unknown>>> = {
  readonly [K in keyof S]?: Exclude<ReturnType<S[K]>, ParamInvalid>;
};

/**
 * Validate a query string against a schema (ADMIN-API.md: unknown fields are errors): every name must be in
 * `schema` and given once; each value goes through its parser. The first problem is a 400 naming the parameter.
 */
export function parseQuery<S extends Record<string, ParamParser<unknown>>>(
  search: URLSearchParams,
  schema: S,
): ParsedParams<S> | ApiError {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of search) {
    if (!Object.hasOwn(schema, name)) {
      const known = Object.keys(schema).join(', ');
      return new ApiError(400, 'unknown_parameter', `unknown parameter ${name} (known: ${known})`, name);
    }
    if (Object.hasOwn(out, name))
      return new ApiError(400, 'invalid_parameter', `${name} is given twice`, name);
    const v = schema[name]!(raw);
    if (isInvalid(v)) return new ApiError(400, 'invalid_parameter', `${name}: ${v.invalid}`, name);
    out[name] = v;
  }
  return out as ParsedParams<S>;
}

export function isInvalid(v: unknown): v is ParamInvalid {
  return typeof v === 'object' && v !== null && 'invalid' in v;
}

export function text(max: number): ParamParser<string> {
  return (raw) =>
    raw.length === 0
      ? { invalid: 'empty' }
      : raw.length > max
        ? { invalid: `longer than ${max} characters` }
        : raw;
}

export function integerIn(min: number, max: number): ParamParser<number> {
  return (raw) => {
    const n = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
    return n >= min && n <= max ? n : { invalid: `${JSON.stringify(raw)} is not an integer ${min}..${max}` };
  };
}
