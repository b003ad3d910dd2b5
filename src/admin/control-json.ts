/**
 * The operator controls as the API shows them (ADMIN-API.md; the web console reads the same): times ISO 8601,
 * field names snake_case, a block's match as `{"<kind>": "<value>"}` with numbers given back with their `+`.
 */
import type { AuditEntry, LimitOverride, StoredBlock } from '../control/control-store.js';
import type { CustomerFigures } from '../policy/admission-counters.js';
import type { BlockMatch, CustomerLimits } from '../policy/controls.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export function matchJson(m: BlockMatch): Record<string, string> {
  const number = m.kind === 'calling' || m.kind === 'called';
  return { [m.kind]: number ? `+${m.value}` : m.value };
}

export function blockJson(b: StoredBlock) {
  return {
    id: b.id,
    match: matchJson(b.match),
    action: b.action,
    reason: b.reason,
    ticket: b.ticket,
    expires: b.expires === null ? null : iso(b.expires),
    actor: b.actor,
    created: iso(b.created),
    removed:
      b.removed === null
        ? null
        : { time: iso(b.removed.time), actor: b.removed.actor, reason: b.removed.reason },
  };
}

/** `before` and `after` as stored: a block or a limit override in the store's form (epoch ms times). */
export function auditJson(e: AuditEntry) {
  return {
    id: e.id,
    time: iso(e.time),
    actor: e.actor,
    action: e.action,
    object: e.object,
    before: e.before,
    after: e.after,
    reason: e.reason,
  };
}

export function limitsJson(l: Partial<CustomerLimits>) {
  return {
    ...(l.cps !== undefined ? { cps: l.cps } : {}),
    ...(l.burst !== undefined ? { burst: l.burst } : {}),
    ...(l.maxConcurrent !== undefined ? { max_concurrent: l.maxConcurrent } : {}),
  };
}

export function customerJson(
  c: { readonly name: string; readonly origid?: string },
  configured: CustomerLimits,
  override: LimitOverride | undefined,
  figures: CustomerFigures | undefined,
) {
  return {
    name: c.name,
    origid: c.origid ?? null,
    limits: limitsJson({ ...configured, ...override }),
    configured_limits: limitsJson(configured),
    overrides: override === undefined ? null : limitsJson(override),
    live: { cps: figures?.cps ?? 0, concurrent: figures?.concurrent ?? 0 },
    refusals: { ...figures?.refusals },
  };
}
