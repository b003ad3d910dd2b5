/**
 * The control plane's input rules (ADMIN-API.md `POST /v1/blocks`, `DELETE /v1/blocks/{id}`,
 * `PATCH /v1/customers/{name}/limits`, "Bad input"): plain data in, a checked value out, or a `ControlError`
 * naming the field. Pure: what is configured comes in as `Configured`, the time as `now`.
 *
 * Choices: numbers are stored canonical (src/stir/tn.ts, no `+`), a prefix as its digits and a final `*`;
 * origids lower-case; `expires` must carry a zone (a time without one means different instants to different
 * people) and lie in the future. Limits are positive integers: a customer is stopped with a `customer` block
 * (immediate, explained, audited), not with `cps: 0`.
 */
import type { BlockAction, BlockMatch, BlockMatchKind, CustomerLimits } from '../policy/controls.js';
import { BLOCK_MATCH_KINDS } from '../policy/controls.js';
import { canonicalizeTn, MAX_TN_DIGITS } from '../stir/tn.js';
import { ControlError } from './control-error.js';
import type { LimitOverride } from './control-store.js';

export interface Configured {
  hasCustomer(name: string): boolean;
  hasTrunk(name: string): boolean;
}

export interface NewBlockInput {
  readonly match: BlockMatch;
  readonly action: BlockAction;
  readonly reason: string;
  readonly ticket: string;
  readonly expires: number | null;
}

export const MAX_REASON_CHARS = 500;
export const MAX_TICKET_CHARS = 100;
const MAX_NAME_CHARS = 128;
/** Upper bounds that no real customer reaches; past them a value is a typo. */
export const LIMIT_CAPS = { cps: 100_000, burst: 100_000, maxConcurrent: 1_000_000 } as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** ATIS-1000080 SPC: an OCN-like token; letters, digits and `.-_`. */
const SPC = /^[A-Za-z0-9._-]{1,32}$/;
/** ISO 8601 date-time with a zone (RFC 3339 §5.6). */
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

type Obj = Readonly<Record<string, unknown>>;

function objectOf(v: unknown, path: string | undefined, allowed: readonly string[]): Obj {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ControlError('invalid_body', `${path ?? 'the body'} must be a JSON object`, path);
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) {
      const p = path === undefined ? k : `${path}.${k}`;
      throw new ControlError('unknown_field', `unknown field ${p}`, p);
    }
  }
  return v as Obj;
}

function text(o: Obj, key: string, max: number, required: true, path?: string): string;
function text(o: Obj, key: string, max: number, required: false, path?: string): string | undefined;
function text(o: Obj, key: string, max: number, required: boolean, path = key): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) {
    if (required) throw new ControlError('missing_field', `${path} is required`, path);
    return undefined;
  }
  if (typeof v !== 'string' || v.trim() === '')
    throw new ControlError('invalid_field', `${path} must be a non-empty string`, path);
  if (v.length > max)
    throw new ControlError('invalid_field', `${path} is longer than ${max} characters`, path);
  return v.trim();
}

/** `POST /v1/blocks`. */
export function parseNewBlock(body: unknown, configured: Configured, now: number): NewBlockInput {
  const o = objectOf(body, undefined, ['match', 'action', 'reason', 'ticket', 'expires']);
  if (o['match'] === undefined) throw new ControlError('missing_field', 'match is required', 'match');
  const match = parseMatch(o['match'], configured);
  const action = o['action'];
  if (action === undefined) throw new ControlError('missing_field', 'action is required', 'action');
  if (action !== 'reject' && action !== 'mark')
    throw new ControlError('invalid_field', 'action must be "reject" or "mark"', 'action');
  return {
    match,
    action,
    reason: text(o, 'reason', MAX_REASON_CHARS, true),
    ticket: text(o, 'ticket', MAX_TICKET_CHARS, true),
    expires: parseExpires(o['expires'], now),
  };
}

function parseMatch(v: unknown, configured: Configured): BlockMatch {
  const o = objectOf(v, 'match', BLOCK_MATCH_KINDS);
  const kinds = Object.keys(o) as BlockMatchKind[];
  if (kinds.length !== 1)
    throw new ControlError(
      'invalid_match',
      `match must name exactly one of ${BLOCK_MATCH_KINDS.join(', ')} (got ${kinds.length})`,
      'match',
    );
  const kind = kinds[0]!;
  const path = `match.${kind}`;
  const raw = text(o, kind, MAX_NAME_CHARS, true, path);
  switch (kind) {
    case 'calling':
    case 'called':
      return { kind, value: numberOrPrefix(raw, path) };
    case 'customer':
      if (!configured.hasCustomer(raw))
        throw new ControlError('unknown_customer', `no customer ${JSON.stringify(raw)} is configured`, path);
      return { kind, value: raw };
    case 'trunk':
      if (!configured.hasTrunk(raw))
        throw new ControlError('unknown_trunk', `no trunk ${JSON.stringify(raw)} is configured`, path);
      return { kind, value: raw };
    case 'origid':
      if (!UUID.test(raw)) throw new ControlError('invalid_field', `${path} must be a UUID`, path);
      return { kind, value: raw.toLowerCase() };
    case 'spc':
      if (!SPC.test(raw))
        throw new ControlError('invalid_field', `${path} must be an SPC (letters, digits, . - _)`, path);
      return { kind, value: raw };
  }
}

/** An E.164 number, or a prefix of one ending in `*`; canonical (src/stir/tn.ts), the `*` kept. */
function numberOrPrefix(raw: string, path: string): string {
  const prefix = raw.endsWith('*');
  const digits = canonicalizeTn(prefix ? raw.slice(0, -1) : raw);
  // A prefix needs at least one digit (a bare `*` would block every call) and room for more.
  if (digits === undefined || (prefix && digits.length >= MAX_TN_DIGITS))
    throw new ControlError(
      'invalid_number',
      `${path}: ${JSON.stringify(raw)} is not an E.164 number (+12025550123) or prefix (+1202*)`,
      path,
    );
  return prefix ? `${digits}*` : digits;
}

function parseExpires(v: unknown, now: number): number | null {
  if (v === undefined || v === null) return null;
  const t = typeof v === 'string' && ISO_WITH_ZONE.test(v) ? Date.parse(v) : Number.NaN;
  if (Number.isNaN(t))
    throw new ControlError(
      'invalid_field',
      'expires must be an ISO 8601 time with a zone (2026-12-08T10:00:00Z)',
      'expires',
    );
  if (t <= now) throw new ControlError('expires_in_past', 'expires is not in the future', 'expires');
  return t;
}

/** `DELETE /v1/blocks/{id}`: an empty body, or `{"reason"}`. */
export function parseRemoval(body: unknown): { readonly reason: string | null } {
  if (body === undefined) return { reason: null };
  const o = objectOf(body, undefined, ['reason']);
  return { reason: text(o, 'reason', MAX_REASON_CHARS, false) ?? null };
}

const LIMIT_FIELDS = [
  ['cps', 'cps'],
  ['burst', 'burst'],
  ['max_concurrent', 'maxConcurrent'],
] as const satisfies readonly (readonly [string, keyof CustomerLimits])[];

export interface LimitsInput {
  /** The new override: the fields given replace the current ones, a `null` clears one. */
  readonly set: LimitOverride;
  readonly cleared: readonly (keyof CustomerLimits)[];
  readonly reason: string | null;
}

/** `PATCH /v1/customers/{name}/limits`: any of cps, burst, max_concurrent (positive integers) and a reason. */
export function parseLimits(body: unknown): LimitsInput {
  const o = objectOf(body, undefined, [...LIMIT_FIELDS.map(([k]) => k), 'reason']);
  const set: { -readonly [K in keyof CustomerLimits]?: number } = {};
  const cleared: (keyof CustomerLimits)[] = [];
  for (const [key, field] of LIMIT_FIELDS) {
    const v = o[key];
    if (v === undefined) continue;
    if (v === null) {
      cleared.push(field);
      continue;
    }
    const cap = LIMIT_CAPS[field];
    if (typeof v !== 'number' || !Number.isInteger(v))
      throw new ControlError('invalid_field', `${key} must be an integer`, key);
    if (v < 1 || v > cap) throw new ControlError('invalid_limit', `${key} must be between 1 and ${cap}`, key);
    set[field] = v;
  }
  if (Object.keys(set).length === 0 && cleared.length === 0)
    throw new ControlError('missing_field', 'give at least one of cps, burst, max_concurrent', undefined);
  return { set, cleared, reason: text(o, 'reason', MAX_REASON_CHARS, false) ?? null };
}
