import type { SipMessage } from '../sip/message/message.js';

/**
 * Which headers cross from one leg to the other. A B2BUA terminates one dialog and originates another, so
 * everything that names a leg's topology or dialog stays on its leg (topology hiding); the rest passes
 * unchanged, byte for byte, unless a trunk's allow/deny list says otherwise.
 */

/** Leg-bound: rebuilt per leg, never copied (RFC 3261 §8.1.1, §12, §16.6; RFC 3262 RAck is remapped). */
const LEG_BOUND: ReadonlySet<string> = new Set([
  'via',
  'route',
  'record-route',
  'contact',
  'call-id',
  'cseq',
  'from',
  'to',
  'max-forwards',
  'content-length',
  'rack',
  // Hop-by-hop authentication is between us and each peer, not end to end.
  'proxy-authorization',
  'proxy-authenticate',
  'path',
  'service-route',
]);

export interface HeaderRules {
  /** When set, only these (plus the essential body headers) cross. Canonical lower-case names. */
  readonly allow: ReadonlySet<string> | undefined;
  /** Never cross. Canonical lower-case names. */
  readonly deny: ReadonlySet<string>;
}

export const PASS_ALL: HeaderRules = { allow: undefined, deny: new Set() };

/** Headers a body cannot be understood without; always cross with the body. */
const BODY_HEADERS: ReadonlySet<string> = new Set([
  'content-type',
  'content-encoding',
  'content-disposition',
  'content-language',
  'mime-version',
]);

export function compileHeaderRules(
  allow: readonly string[] | undefined,
  deny: readonly string[] | undefined,
): HeaderRules {
  return {
    allow: allow === undefined ? undefined : new Set(allow.map((h) => h.toLowerCase())),
    deny: new Set((deny ?? []).map((h) => h.toLowerCase())),
  };
}

/** Whether a header (canonical name) crosses between legs under these rules. */
export function crosses(name: string, rules: HeaderRules): boolean {
  if (LEG_BOUND.has(name)) return false;
  if (rules.deny.has(name)) return false;
  if (rules.allow !== undefined && !rules.allow.has(name) && !BODY_HEADERS.has(name)) return false;
  return true;
}

/** Append to `dst` every header of `src` that crosses, in wire order, with its raw name and value. */
export function copyCrossingHeaders(
  src: SipMessage,
  dst: SipMessage,
  rules: HeaderRules,
  skip?: ReadonlySet<string>,
): void {
  for (const h of src.headers) {
    if (!crosses(h.name, rules)) continue;
    if (skip?.has(h.name)) continue;
    dst.headers.push(h);
  }
  dst.invalidate();
}
