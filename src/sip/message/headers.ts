/**
 * Header names and header-value lists (RFC 3261 §7.3, §7.3.1, §7.3.3, §20).
 *
 * Canonical names are lower-case with compact forms expanded, and interned: every canonical name handed out
 * comes from one table, so `h.name === 'via'` compares two identical string objects.
 */

// RFC 3261 §7.3.3 and §20 compact forms, plus the ones later RFCs registered (IANA "Header Fields" registry).
const COMPACT: Readonly<Record<string, string>> = {
  a: 'accept-contact', // RFC 3841
  b: 'referred-by', // RFC 3892
  c: 'content-type',
  d: 'request-disposition', // RFC 3841
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact', // RFC 3841
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  o: 'event', // RFC 6665
  r: 'refer-to', // RFC 3515
  s: 'subject',
  t: 'to',
  u: 'allow-events', // RFC 6665
  v: 'via',
  x: 'session-expires', // RFC 4028
  y: 'identity', // RFC 8224
};

/**
 * Headers whose values may be comma-joined on one line (RFC 3261 §7.3.1: those defined as a comma-separated
 * list). Deliberately absent: the authentication headers (their values contain commas), Date, and every
 * header defined as a single value.
 */
const MULTI_VALUE: ReadonlySet<string> = new Set([
  'via',
  'contact',
  'route',
  'record-route',
  'path', // RFC 3327
  'service-route', // RFC 3608
  'allow',
  'allow-events',
  'supported',
  'require',
  'proxy-require',
  'unsupported',
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-contact',
  'reject-contact',
  'request-disposition',
  'accept-resource-priority', // RFC 4412
  'resource-priority',
  'content-encoding',
  'content-language',
  'in-reply-to',
  'warning',
  'call-info',
  'alert-info',
  'error-info',
  'reason', // RFC 3326
  'history-info', // RFC 7044
  'diversion', // RFC 5806
  'p-asserted-identity', // RFC 3325
  'p-preferred-identity',
  'p-associated-uri', // RFC 7315
  'p-early-media', // RFC 5009
  'identity', // RFC 8224 §4 (several Identity values are allowed)
  'security-client', // RFC 3329
  'security-server',
  'security-verify',
  'feature-caps', // RFC 6809
]);

/** Headers that must appear at most once (RFC 3261 §7.3.1, §20; RFC 4475 §3.3.8). */
export const SINGLE_VALUE_HEADERS: ReadonlySet<string> = new Set([
  'call-id',
  'from',
  'to',
  'cseq',
  'max-forwards',
  'content-length',
  'content-type',
]);

/** Names we see on nearly every message, in the spellings peers actually use. Seeded into the cache. */
const COMMON = [
  'Via',
  'From',
  'To',
  'Call-ID',
  'Call-Id',
  'CSeq',
  'Cseq',
  'Contact',
  'Max-Forwards',
  'Content-Length',
  'Content-Type',
  'Content-Disposition',
  'Content-Encoding',
  'Content-Language',
  'Route',
  'Record-Route',
  'Allow',
  'Allow-Events',
  'Supported',
  'Require',
  'Proxy-Require',
  'Unsupported',
  'Accept',
  'Accept-Encoding',
  'Accept-Language',
  'User-Agent',
  'Server',
  'Expires',
  'Min-Expires',
  'Date',
  'Subject',
  'Organization',
  'Priority',
  'Timestamp',
  'Warning',
  'Reason',
  'Event',
  'Subscription-State',
  'Refer-To',
  'Referred-By',
  'Replaces',
  'Session-Expires',
  'Min-SE',
  'RSeq',
  'RAck',
  'MIME-Version',
  'Authorization',
  'Proxy-Authorization',
  'WWW-Authenticate',
  'Proxy-Authenticate',
  'Authentication-Info',
  'Retry-After',
  'In-Reply-To',
  'Call-Info',
  'Alert-Info',
  'Error-Info',
  'Identity',
  'P-Asserted-Identity',
  'P-Preferred-Identity',
  'P-Charging-Vector',
  'P-Access-Network-Info',
  'P-Called-Party-ID',
  'P-Early-Media',
  'Privacy',
  'History-Info',
  'Diversion',
  'Path',
  'Service-Route',
  'Resource-Priority',
  'Attestation-Info',
  'Origination-Id',
  'X-Asserted-Identity',
];

const CACHE_LIMIT = 2048;
/** raw spelling -> interned canonical name. Bounded so random names from the wire cannot grow it forever. */
const cache = new Map<string, string>();
/** canonical -> the one interned instance. */
const interned = new Map<string, string>();

function intern(canonical: string): string {
  const have = interned.get(canonical);
  if (have !== undefined) return have;
  if (interned.size < CACHE_LIMIT) interned.set(canonical, canonical);
  return canonical;
}

function computeCanonical(raw: string): string {
  const lower = raw.toLowerCase();
  return intern(lower.length === 1 ? (COMPACT[lower] ?? lower) : lower);
}

for (const long of Object.values(COMPACT)) intern(long);
for (const n of SINGLE_VALUE_HEADERS) intern(n);
for (const n of MULTI_VALUE) intern(n);
for (const name of COMMON) {
  for (const spelling of [name, name.toLowerCase(), name.toUpperCase()])
    cache.set(spelling, computeCanonical(spelling));
}
for (const short of Object.keys(COMPACT)) {
  cache.set(short, computeCanonical(short));
  cache.set(short.toUpperCase(), computeCanonical(short));
}

/** A header name spelling we expect on the wire, with its canonical form. */
export interface KnownName {
  readonly raw: string;
  readonly name: string;
}

const KNOWN_MAX_LEN = 40;
/** Known spellings bucketed by (length << 7 | first char code), so the parser can skip slicing the name. */
const KNOWN: (KnownName[] | undefined)[] = new Array((KNOWN_MAX_LEN + 1) << 7).fill(undefined);
for (const [raw, name] of cache) {
  if (raw.length > KNOWN_MAX_LEN) continue;
  const key = (raw.length << 7) | raw.charCodeAt(0);
  const bucket = KNOWN[key] ?? [];
  bucket.push({ raw, name });
  KNOWN[key] = bucket;
}

/**
 * The record for a header name spelling from the seed list (`Via`, `CALL-ID`, `v` ...), or undefined.
 * One array index and one string compare, cheaper than hashing the name for a Map lookup.
 */
export function knownHeaderName(raw: string): KnownName | undefined {
  const len = raw.length;
  if (len > KNOWN_MAX_LEN || len === 0) return undefined;
  const c0 = raw.charCodeAt(0);
  if (c0 >= 128) return undefined;
  const bucket = KNOWN[(len << 7) | c0];
  if (bucket === undefined) return undefined;
  for (let i = 0; i < bucket.length; i++) {
    const k = bucket[i]!;
    if (k.raw === raw) return k;
  }
  return undefined;
}

/** Lower-case header name with compact forms expanded (`v` -> `via`, `Y` -> `identity`), interned. */
export function canonicalName(raw: string): string {
  const hit = cache.get(raw);
  if (hit !== undefined) return hit;
  const c = computeCanonical(raw);
  if (cache.size < CACHE_LIMIT) cache.set(raw, c);
  return c;
}

// RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
const TOKEN = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

/** True when `s` is a non-empty RFC 3261 token. */
export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] === 0) return false;
  }
  return true;
}

/** True for a token character code. */
export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/**
 * Canonical name for a header name read from the wire, or undefined when it is not a token
 * (RFC 3261 §7.3.1: field-name = token). A cache hit is a valid name by construction.
 */
export function wireHeaderName(raw: string): string | undefined {
  const hit = cache.get(raw);
  if (hit !== undefined) return hit;
  if (!isToken(raw)) return undefined;
  const c = computeCanonical(raw);
  if (cache.size < CACHE_LIMIT) cache.set(raw, c);
  return c;
}

/** Whether values of this (canonical) header may be comma-joined on one line. */
export function isMultiValue(canonical: string): boolean {
  return MULTI_VALUE.has(canonical);
}

/** Whether this (canonical) header may appear at most once. */
export function isSingleValue(canonical: string): boolean {
  return SINGLE_VALUE_HEADERS.has(canonical);
}

const BACKSLASH = 0x5c;

/**
 * Split a header value on commas outside quoted strings and `<...>` (RFC 3261 §7.3.1), each element trimmed.
 * An empty or blank value gives `[]`; empty elements between commas are kept as `''` so a parser can refuse
 * them (RFC 4475 §3.1.2.1 `;;,;,,`).
 */
export function splitHeaderValues(value: string): string[] {
  let comma = value.indexOf(',');
  if (comma < 0) {
    const t = trimLws(value);
    return t.length === 0 ? [] : [t];
  }
  // Jump between the characters that matter with native searches: `,`, and the `"` / `<` that open a
  // section in which commas do not count.
  const out: string[] = [];
  const n = value.length;
  let start = 0;
  let quote = value.indexOf('"');
  let angle = value.indexOf('<');
  for (;;) {
    if (quote >= 0 && quote < comma && (angle < 0 || quote < angle)) {
      const end = closingQuote(value, quote);
      if (end < 0) break; // unterminated: the rest is one element
      quote = value.indexOf('"', end + 1);
      if (angle >= 0 && angle < end) angle = value.indexOf('<', end + 1);
      if (comma < end) comma = value.indexOf(',', end + 1);
    } else if (angle >= 0 && angle < comma) {
      const end = value.indexOf('>', angle + 1);
      if (end < 0) break;
      angle = value.indexOf('<', end + 1);
      if (quote >= 0 && quote < end) quote = value.indexOf('"', end + 1);
      if (comma < end) comma = value.indexOf(',', end + 1);
    } else {
      out.push(trimLws(value.slice(start, comma)));
      start = comma + 1;
      comma = value.indexOf(',', start);
    }
    if (comma < 0) break;
  }
  out.push(trimLws(start === 0 ? value : value.slice(start, n)));
  return out;
}

/** Index of the `"` closing the quoted string opened at `open`, honouring quoted-pairs; -1 if unterminated. */
export function closingQuote(s: string, open: number): number {
  let e = s.indexOf('"', open + 1);
  while (e >= 0) {
    // The quote is escaped when an odd number of backslashes precede it.
    let k = e - 1;
    while (k > open && s.charCodeAt(k) === BACKSLASH) k--;
    if (((e - 1 - k) & 1) === 0) return e;
    e = s.indexOf('"', e + 1);
  }
  return -1;
}

/** The first element of a comma-separated header value (what `splitHeaderValues(value)[0]` gives). */
export function firstHeaderValue(value: string): string | undefined {
  if (value.indexOf(',') < 0) {
    const t = trimLws(value);
    return t.length === 0 ? undefined : t;
  }
  return splitHeaderValues(value)[0];
}

/** Trim SP, HT, CR and LF at both ends (cheaper than String#trim, which also strips Unicode spaces). */
export function trimLws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && isLws(s.charCodeAt(a))) a++;
  while (b > a && isLws(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * Header text is a latin1 view of the wire octets (one char per octet) so bytes round-trip exactly. These
 * two helpers convert to and from real Unicode for display names, reason phrases and the like.
 */
export function wireTextToUnicode(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'latin1').toString('utf8');
  }
  return s;
}

export function unicodeToWireText(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  }
  return s;
}
