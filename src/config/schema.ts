import { isIP } from 'node:net';
import { describeCidrError, parseCidr } from './cidr.js';
import {
  array,
  boolean,
  defaulted,
  type Fields,
  INVALID,
  type Invalid,
  integer,
  object,
  oneOf,
  optional,
  type Path,
  refine,
  required,
  type Schema,
  showValue,
  string,
  tagged,
  type ValidationContext,
} from './combinators.js';
import type {
  CertCacheConfig,
  Config,
  CustomerConfig,
  CustomerLimitsConfig,
  DestinationsConfig,
  DevPkiConfig,
  HeaderRulesConfig,
  HostPort,
  ListenConfig,
  NextHopConfig,
  NumberEntryConfig,
  OriginatingTrunkConfig,
  OverloadConfig,
  PassthroughTrunkConfig,
  PolicyConfig,
  RouteConfig,
  SigningConfig,
  SipConfig,
  SipLimitsConfig,
  SipTimersConfig,
  StirConfig,
  TerminatingTrunkConfig,
  TracebackConfig,
  TrunkConfig,
  TrunkMatchConfig,
  TrunkVerificationConfig,
  UnmatchedSourceConfig,
  VerificationConfig,
  X5uPolicyConfig,
} from './types.js';

// ---------------------------------------------------------------------------------------------------------
// Leaf schemas specific to Stirgate.

const transport = oneOf(['udp', 'tcp']);

/** Names appear in logs and metric labels: keep them to a safe alphabet. */
const name = refine(string({ min: 1, max: 64 }), 'name ([A-Za-z0-9_.-], 1..64)', (v, fail) =>
  /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v)
    ? v
    : fail(
        `${showValue(v)} is not a valid name (letters, digits, "_", "." and "-", starting with a letter or digit)`,
      ),
);

/**
 * An IP literal (no zone id).
 * GAP(RFC 3263 §4): next hops are IP literals; no NAPTR/SRV/A resolution of host names.
 */
const ipAddress = refine(string(), 'IP address', (v, fail) =>
  isIP(v) !== 0 && !v.includes('%') ? v : fail(`${showValue(v)} is not an IP address`),
);

const port = integer({ min: 1, max: 65535 });
const listenPort = integer({ min: 0, max: 65535 });

const cidr = refine(string(), 'CIDR or IP address', (v, fail) => {
  const r = parseCidr(v);
  return r.ok ? v : fail(describeCidrError(v, r));
});

/** `host:port` or `[v6]:port`, host an IP literal, port 0..65535 (0 = any free port, tests). */
export function parseHostPort(v: string): HostPort | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(v) ?? /^([^:[\]]+):(\d{1,5})$/.exec(v);
  if (m === null) return undefined;
  const address = m[1]!;
  const p = Number(m[2]);
  if (isIP(address) === 0 || address.includes('%') || p > 65535) return undefined;
  return { address, port: p };
}

const hostPort = refine(string(), 'host:port', (v, fail) => {
  const hp = parseHostPort(v);
  return hp ?? fail(`${showValue(v)} is not a valid host:port (IP literal, IPv6 in brackets, port 0..65535)`);
});

/** Empty string = off. */
const hostPortOrOff = refine(string(), 'host:port or ""', (v, fail): HostPort | undefined | Invalid => {
  if (v === '') return undefined;
  return parseHostPort(v) ?? fail(`${showValue(v)} is not a valid host:port (or "" to turn off)`);
});

/** RFC 9562 §4 textual UUID, any version; stored lower-case. */
const uuid = refine(string(), 'UUID', (v, fail) =>
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)
    ? v.toLowerCase()
    : fail(`${showValue(v)} is not a UUID (8-4-4-4-12 hex digits)`),
);

/** A string of digits; an unquoted YAML integer (`country_code: 44`) is accepted too. */
function digits(min: number, max: number): Schema<string> {
  const type = `digits (${min}..${max})`;
  return {
    type,
    shape: { kind: 'leaf' },
    parse(input, at, ctx) {
      const text =
        typeof input === 'number' && Number.isSafeInteger(input) && input >= 0 ? String(input) : input;
      if (typeof text !== 'string')
        return ctx.report(at, 'wrong_type', `expected ${type}, got ${showValue(input)}`);
      if (!/^[0-9]+$/.test(text) || text.length < min || text.length > max) {
        return ctx.report(at, 'invalid_value', `${showValue(text)} must be ${min}..${max} digits`);
      }
      return text;
    },
  };
}

/** A string; an unquoted YAML integer (`spc: 1234`) is taken as its digits. */
const digitsOrString: Schema<string> = {
  type: 'string',
  shape: { kind: 'leaf' },
  parse(input, at, ctx) {
    if (typeof input === 'number' && Number.isSafeInteger(input) && input >= 0) return String(input);
    if (typeof input === 'string') return input;
    return ctx.report(at, 'wrong_type', `expected string, got ${showValue(input)}`);
  },
};

/** RFC 3261 §25.1 `token`, the header-name syntax; stored lower-case (header names are case-insensitive). */
const headerName = refine(string({ min: 1, max: 128 }), 'header name', (v, fail) =>
  /^[A-Za-z0-9\-.!%*_+`'~]+$/.test(v) ? v.toLowerCase() : fail(`${showValue(v)} is not a valid header name`),
);

const headerNameOrEmpty = refine(string({ max: 128 }), 'header name or ""', (v, fail) =>
  v === '' || /^[A-Za-z0-9\-.!%*_+`'~]+$/.test(v) ? v : fail(`${showValue(v)} is not a valid header name`),
);

/** A name that must be declared elsewhere; resolved after the whole tree is read. */
function ref(kind: 'route' | 'trunk', requireAttr?: string): Schema<string> {
  return refine(string({ min: 1, max: 64 }), `${kind} name`, (v, _fail, at, ctx) => {
    ctx.reference(kind, v, at, requireAttr);
    return v;
  });
}

// ITU-T E.164 §6: at most 15 digits. A leading `+` is accepted and dropped.
const E164 = /^\+?([0-9]{1,15})$/;
const RANGE = /^\+?([0-9]{1,15})-\+?([0-9]{1,15})$/;
const PREFIX = /^\+?([0-9]{1,14})\*$/;

const numberEntry: Schema<NumberEntryConfig> = {
  type: 'E.164 number, range or prefix*',
  shape: { kind: 'leaf' },
  parse(input, at, ctx) {
    // `- 12025550100` unquoted is a YAML integer; E.164 numbers never start with 0, so nothing is lost.
    const text =
      typeof input === 'number' && Number.isSafeInteger(input) && input > 0 ? String(input) : input;
    if (typeof text !== 'string') {
      return ctx.report(
        at,
        'wrong_type',
        `expected an E.164 number, range or prefix, got ${showValue(input)}`,
      );
    }
    const exact = E164.exec(text);
    if (exact !== null) return { kind: 'exact', tn: exact[1]! };
    const prefix = PREFIX.exec(text);
    if (prefix !== null) return { kind: 'prefix', prefix: prefix[1]! };
    const range = RANGE.exec(text);
    if (range !== null) {
      const from = range[1]!;
      const to = range[2]!;
      if (from.length !== to.length)
        return ctx.report(
          at,
          'invalid_value',
          `range ${showValue(text)}: both ends must have the same number of digits`,
        );
      if (from > to) return ctx.report(at, 'invalid_value', `range ${showValue(text)}: start is after end`);
      return { kind: 'range', from, to };
    }
    return ctx.report(
      at,
      'invalid_value',
      `${showValue(text)} is not an E.164 number (12025550100), range (12025550100-12025550199) or prefix (1202555*)`,
    );
  },
};

const httpUrl = refine(string({ min: 1 }), 'http(s) URL', (v, fail) => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return fail(`${showValue(v)} is not a URL`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    return fail(`${showValue(v)} must be an https:// URL`);
  if (u.username !== '' || u.password !== '') return fail(`${showValue(v)} must not carry user:password`);
  return v;
});

const filePath = string({ min: 1, type: 'path' });

/** An E.164 prefix written `1900*` (or `+1900*`), stored as its digits. */
const destinationPrefix = refine(string({ min: 2 }), 'E.164 prefix*', (v, fail) => {
  const m = PREFIX.exec(v);
  return m !== null
    ? m[1]!
    : fail(`${showValue(v)} is not an E.164 prefix (digits followed by *, e.g. "1900*")`);
});

const prefixList = array(destinationPrefix, { uniqueBy: (p) => p });

/**
 * `policy.destination_classes`: class name -> prefixes. Each name is declared for the references in
 * `customers[].destinations.classes`.
 */
const destinationClasses: Schema<Readonly<Record<string, readonly string[]>>> = {
  type: 'mapping of class name to list of E.164 prefix*',
  shape: { kind: 'leaf' },
  parse(input, at, ctx) {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      ctx.markIncomplete('destination class');
      return ctx.report(at, 'wrong_type', `expected a mapping, got ${showValue(input)}`);
    }
    const out: Record<string, readonly string[]> = {};
    let ok = true;
    for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
      const kAt = [...at, k];
      const n = name.parse(k, kAt, ctx);
      const list = prefixList.parse(v ?? [], kAt, ctx);
      if (n === INVALID || list === INVALID) {
        ok = false;
        continue;
      }
      ctx.define('destination class', n, kAt);
      out[n] = list;
    }
    if (!ok) {
      ctx.markIncomplete('destination class');
      return INVALID;
    }
    return out;
  },
};

/** Header names keep the case written (they go on the wire); RFC 3261 §25.1 `token`. */
const wireHeaderName = refine(string({ min: 1, max: 128 }), 'header name', (v, fail) =>
  /^[A-Za-z0-9\-.!%*_+`'~]+$/.test(v) ? v : fail(`${showValue(v)} is not a valid header name`),
);

/**
 * A redress contact goes into the quoted `text` of a Reason header as `key=value;` (ATIS-1000099): no
 * quote, backslash, semicolon, white space or control character.
 */
function redressValue(type: string, test: RegExp, example: string): Schema<string> {
  return refine(string({ min: 1, max: 256 }), type, (v, fail) =>
    test.test(v) && !/["\\;\s\x00-\x1f]/.test(v)
      ? v
      : fail(`${showValue(v)} is not a ${type} usable in a Reason header (e.g. ${example})`),
  );
}

// ---------------------------------------------------------------------------------------------------------
// The tree.

const listen = object<ListenConfig>({
  transport: required(transport, 'Transport to listen on.'),
  address: required(ipAddress, 'Local IP address to bind (0.0.0.0 / :: for all).'),
  port: defaulted(listenPort, 5060, 'Local port; 0 picks a free port (tests).'),
});

const timers = object<SipTimersConfig>(
  {
    t1Ms: defaulted(
      integer({ min: 1, max: 60_000 }),
      500,
      'RFC 3261 T1, RTT estimate; all transaction timers derive from it.',
    ),
    t2Ms: defaulted(
      integer({ min: 1, max: 600_000 }),
      4000,
      'RFC 3261 T2, maximum retransmit interval for non-INVITE requests and INVITE responses.',
    ),
    t4Ms: defaulted(
      integer({ min: 1, max: 600_000 }),
      5000,
      'RFC 3261 T4, maximum time a message stays in the network.',
    ),
    timerCS: defaulted(
      integer({ min: 1, max: 3600 }),
      185,
      'Timer C (RFC 3261 §16.6 step 11, §16.8; over 3 minutes there): a next hop that answered provisionally and then sent no final response for this long is CANCELled and the caller gets 408 (or the next hop); restarted by each provisional answer.',
    ),
  },
  {
    check(t, at, ctx) {
      // RFC 3261 §17.1.2.2: retransmissions double from T1 up to T2, so T2 below T1 is meaningless.
      if (t.t1Ms !== undefined && t.t2Ms !== undefined && t.t2Ms < t.t1Ms) {
        ctx.report([...at, 't2_ms'], 'conflict', `must be at least t1_ms (${t.t1Ms})`);
      }
    },
  },
);

const limits = object<SipLimitsConfig>({
  maxMessageBytes: defaulted(
    integer({ min: 1024, max: 16_777_216 }),
    65536,
    'Largest SIP message accepted (headers + body), bytes; a larger request gets 513 (RFC 3261 §21.5.11).',
  ),
  maxHeaders: defaulted(integer({ min: 8, max: 10_000 }), 256, 'Most header fields in one message.'),
  maxLineLength: defaulted(
    integer({ min: 256, max: 1_048_576 }),
    8192,
    'Longest start line or header line, bytes.',
  ),
  tcpMaxConnections: defaulted(
    integer({ min: 1, max: 10_000_000 }),
    10000,
    'Open TCP connections (both directions) before new inbound ones are refused.',
  ),
  tcpMaxConnectionsPerSource: defaulted(
    integer({ min: 1, max: 10_000_000 }),
    100,
    'Inbound TCP connections one source address may hold; more are refused (connection floods).',
  ),
  tcpIdleTimeoutS: defaulted(
    integer({ min: 1, max: 86_400 }),
    300,
    'A TCP connection with no traffic for this long is closed.',
  ),
  tcpMessageTimeoutMs: defaulted(
    integer({ min: 100, max: 600_000 }),
    5000,
    'A message on TCP must be complete (headers and body) within this time of its first byte, or the connection is closed (slowloris).',
  ),
  tcpConnectTimeoutMs: defaulted(integer({ min: 1, max: 120_000 }), 3000, 'Outbound TCP connect timeout.'),
});

const sip = object<SipConfig>({
  timers: defaulted(timers, {}, 'Transaction timer base values.'),
  limits: defaulted(limits, {}, 'Parser and transport limits.'),
  maxForwards: defaulted(
    integer({ min: 1, max: 255 }),
    70,
    'Max-Forwards set on the B-leg when the A-leg request has none (RFC 3261 §8.1.1.6).',
  ),
  userAgent: defaulted(
    string({ max: 256 }),
    'Stirgate/{version}',
    'User-Agent / Server header value; `{version}` is replaced by the release; empty omits the header.',
  ),
  callLimits: defaulted(
    object<SipConfig['callLimits']>({
      maxCalls: defaulted(
        integer({ min: 1, max: 10_000_000 }),
        100000,
        'Concurrent calls; new INVITEs beyond it get 503 with Retry-After.',
      ),
    }),
    {},
    'Call admission limits.',
  ),
  sessionTimers: defaulted(
    object<SipConfig['sessionTimers']>(
      {
        enabled: defaulted(
          boolean(),
          true,
          'RFC 4028 session timers: ask for them on the B-leg INVITE, answer 422 to a too-small Session-Expires, and BYE both legs of a call whose session was not refreshed in time.',
        ),
        sessionExpiresS: defaulted(
          integer({ min: 2, max: 86_400 }),
          1800,
          'Session-Expires we ask for when the caller did not (RFC 4028 §4 recommends 1800).',
        ),
        minSeS: defaulted(
          integer({ min: 2, max: 86_400 }),
          90,
          'Smallest session interval accepted: a smaller Session-Expires gets 422 with this Min-SE (RFC 4028 §5 floor: 90; below it only on a test bench).',
        ),
      },
      {
        check(t, at, ctx) {
          if (t.minSeS !== undefined && t.sessionExpiresS !== undefined && t.sessionExpiresS < t.minSeS)
            ctx.report([...at, 'session_expires_s'], 'conflict', `must be at least min_se_s (${t.minSeS})`);
        },
      },
    ),
    {},
    'RFC 4028 session timers, which end calls whose ends went away.',
  ),
  maxCallDurationS: defaulted(
    integer({ min: 0, max: 604_800 }),
    14_400,
    'An answered call still up after this long gets a BYE on both legs; 0 turns the limit off.',
  ),
});

const trunkMatch = object<TrunkMatchConfig>({
  sources: required(
    array(cidr, { min: 1, uniqueBy: (s) => s }),
    'Peer addresses (CIDR blocks or single IPs, IPv4 or IPv6) this trunk receives from.',
  ),
  port: optional(port, "Peer's source port; any when absent."),
  transport: optional(transport, 'Transport; any when absent.'),
});

const headerRules = object<HeaderRulesConfig>(
  {
    allow: optional(
      array(headerName, { uniqueBy: (s) => s }),
      'Only these headers (case-insensitive) cross from the other leg, plus the ones the B2BUA always builds.',
    ),
    deny: optional(
      array(headerName, { uniqueBy: (s) => s }),
      'These headers (case-insensitive) never cross from the other leg.',
    ),
  },
  {
    check(_h, at, ctx, raw) {
      if (raw['allow'] != null && raw['deny'] != null) {
        ctx.report([...at, 'deny'], 'conflict', 'allow and deny cannot both be set');
      }
    },
  },
);

const verification = object<TrunkVerificationConfig>({
  onFailure: defaulted(
    oneOf(['mark', 'reject']),
    'mark',
    'mark: deliver with verstat=TN-Validation-Failed and a Reason header; reject: answer with the STIR error status (RFC 8224 §6.2.2).',
  ),
  requireIdentity: defaulted(
    boolean(),
    false,
    'A call without an Identity header counts as a failure (428 when rejecting) instead of No-TN-Validation.',
  ),
  attestationHeader: defaulted(
    headerNameOrEmpty,
    'X-Attestation',
    'Header added towards the callee carrying the verified attestation (A, B, C); empty = none.',
  ),
});

type TrunkCommonFields = Fields<Omit<PassthroughTrunkConfig, 'role' | 'name'>>;

const trunkName = required(name, 'Unique trunk name (logs, metric labels, customer references).');

const trunkCommon: TrunkCommonFields = {
  match: required(
    trunkMatch,
    'How an inbound request is recognised as this trunk; trunks are tried in order, first match wins.',
  ),
  route: required(ref('route'), 'Name of the route B-legs of calls from this trunk go to.'),
  countryCode: defaulted(
    digits(1, 3),
    '1',
    'E.164 country code used to globalise national numbers from this trunk (NANP: 1).',
  ),
  headers: defaulted(
    headerRules,
    {},
    'Which headers cross from this trunk to the other leg (allow or deny, not both).',
  ),
};

function trunkCheck(t: Partial<TrunkConfig>, at: Path, ctx: ValidationContext): void {
  if (t.name === undefined) ctx.markIncomplete('trunk');
  else ctx.define('trunk', t.name, [...at, 'name'], { attr: t.role });
}

const originatingTrunk = object<OriginatingTrunkConfig>(
  {
    name: trunkName,
    role: required(
      oneOf(['originating']),
      'originating: a customer sends calls we sign; terminating: calls we verify; passthrough: neither.',
    ),
    ...trunkCommon,
    gateway: defaulted(
      boolean(),
      false,
      'Ingress we cannot vouch for (e.g. an international gateway): every call gets attestation C.',
    ),
    identityIn: defaulted(
      oneOf(['replace', 'keep']),
      'replace',
      'An Identity header arriving from the customer: replace it with ours, or keep it and do not sign.',
    ),
  },
  { check: trunkCheck },
);

const terminatingTrunk = object<TerminatingTrunkConfig>(
  {
    name: trunkName,
    role: required(oneOf(['terminating']), ''),
    ...trunkCommon,
    verification: defaulted(verification, {}, 'What verification does with the result (RFC 8224 §6.2).'),
  },
  { check: trunkCheck },
);

const passthroughTrunk = object<PassthroughTrunkConfig>(
  { name: trunkName, role: required(oneOf(['passthrough']), ''), ...trunkCommon },
  { check: trunkCheck },
);

// GAP: a trunk shadowed by an earlier one with a wider match (never reachable) is not reported.
const trunk = tagged<TrunkConfig, 'role'>(
  'role',
  { originating: originatingTrunk, terminating: terminatingTrunk, passthrough: passthroughTrunk },
  'passthrough',
);

const nextHop = object<NextHopConfig>({
  address: required(ipAddress, 'Next hop IP address.'),
  port: defaulted(port, 5060, 'Next hop port.'),
  transport: defaulted(transport, 'udp', 'Next hop transport.'),
});

const route = object<RouteConfig>(
  {
    name: required(name, 'Unique route name.'),
    nextHops: required(array(nextHop, { min: 1 }), 'Tried in order; the next one is used on failover.'),
    failoverOn: defaulted(
      array(integer({ min: 400, max: 699 }), { uniqueBy: String }),
      [503, 408],
      'Final statuses from a next hop that move the call to the next one. A timeout or transport error always does.',
    ),
    inviteTimeoutS: optional(
      integer({ min: 1, max: 600 }),
      'Give up on a next hop that sent no final response within this time: CANCEL it, then the next hop or 408 to the caller. Without it: 64*T1 (Timer B) for a hop that sent nothing, `sip.timers.timer_c_s` after each provisional answer.',
    ),
  },
  {
    check(r, at, ctx) {
      if (r.name === undefined) ctx.markIncomplete('route');
      else ctx.define('route', r.name, [...at, 'name']);
    },
  },
);

const limitsFields = {
  cps: required(
    integer({ min: 1, max: 100_000 }),
    'Calls per second (token bucket refill rate); over it: 503 with Retry-After.',
  ),
  burst: required(
    integer({ min: 1, max: 1_000_000 }),
    'Calls accepted at once after a quiet spell (bucket size).',
  ),
  maxConcurrent: required(
    integer({ min: 1, max: 10_000_000 }),
    'Calls set up or established at the same time; over it: 503 with Retry-After.',
  ),
};

const customerLimits = object<CustomerLimitsConfig>(limitsFields);

const destinations = object<DestinationsConfig>({
  allow: defaulted(
    prefixList,
    [],
    'Called-number prefixes this customer may call; empty = any not denied. Each "digits*".',
  ),
  deny: defaulted(prefixList, [], 'Called-number prefixes this customer may never call (wins over allow).'),
  classes: defaulted(
    array(
      refine(name, 'destination class name', (v, _fail, at, ctx) => {
        ctx.reference('destination class', v, at);
        return v;
      }),
      { uniqueBy: (c) => c },
    ),
    [],
    'Names of policy.destination_classes this customer may call (every other class is denied).',
  ),
});

const customer = object<CustomerConfig>(
  {
    name: required(name, 'Unique customer name.'),
    trunks: required(
      array(ref('trunk', 'originating'), { min: 1, uniqueBy: (s) => s }),
      'Originating trunks of this customer; a trunk belongs to at most one customer.',
    ),
    numbers: defaulted(
      array(numberEntry, { uniqueBy: (n) => JSON.stringify(n) }),
      [],
      'Numbers the customer may use as caller ID (attestation A); other calling numbers get B. E.164 digits, ranges (same length) or prefixes ending in *.',
    ),
    origid: optional(
      uuid,
      'PASSporT origid (UUID) for traceback; generated once and kept in data_dir when absent.',
    ),
    limits: optional(
      customerLimits,
      'Admission limits of this customer; absent = policy.default_limits (all three keys, or none).',
    ),
    destinations: defaulted(destinations, {}, 'Where this customer may call (docs/operations.md).'),
  },
  {
    check(c, at, ctx) {
      if (c.name === undefined) ctx.markIncomplete('customer');
      else ctx.define('customer', c.name, [...at, 'name']);
      for (const [i, t] of (c.trunks ?? []).entries()) {
        ctx.define('trunk owner', t, [...at, 'trunks', i], {
          duplicate: (first) => `trunk ${showValue(t)} already belongs to another customer (${first})`,
        });
      }
    },
  },
);

const unmatchedSource = object<UnmatchedSourceConfig>(
  {
    action: defaulted(
      oneOf(['reject', 'passthrough']),
      'reject',
      'What to do with a request from an address that matches no trunk.',
    ),
    status: defaulted(integer({ min: 400, max: 699 }), 403, 'Final status sent when action is reject.'),
    route: optional(ref('route'), 'Route used when action is passthrough (required then).'),
  },
  {
    check(u, at, ctx, raw) {
      if (u.action === 'passthrough' && raw['route'] == null) {
        ctx.report([...at, 'route'], 'required', 'is required when action is passthrough');
      }
      if (u.action === 'reject' && raw['route'] != null) {
        ctx.report([...at, 'route'], 'conflict', 'only applies when action is passthrough');
      }
    },
  },
);

const signing = object<SigningConfig>({
  privateKeyFile: required(filePath, 'PEM file with the ES256 (P-256) private key of the STI certificate.'),
  certificateFile: required(filePath, 'PEM file with the STI certificate (and chain) the key belongs to.'),
  x5uUrl: required(
    httpUrl,
    'Public HTTPS URL where verifiers fetch that certificate (PASSporT x5u, info= parameter).',
  ),
});

const x5u = object<X5uPolicyConfig>({
  allowHttp: defaulted(boolean(), false, 'Accept http:// x5u URLs (ATIS-1000074 requires https).'),
  allowedPorts: defaulted(
    array(port, { min: 1, uniqueBy: String }),
    [443, 8443],
    'Ports an x5u URL may name.',
  ),
  allowCidrs: defaulted(
    array(cidr, { uniqueBy: (s) => s }),
    [],
    'Addresses allowed although in a special-purpose or private range (by default those are refused: SSRF).',
  ),
  denyCidrs: defaulted(
    array(cidr, { uniqueBy: (s) => s }),
    [],
    'Addresses refused in addition to the special-purpose ranges.',
  ),
  allowUserinfoQuery: defaulted(boolean(), false, 'Accept x5u URLs with user info or a query string.'),
  maxBodyBytes: defaulted(
    integer({ min: 1024, max: 1_048_576 }),
    16384,
    'Largest certificate download, bytes.',
  ),
  timeoutMs: defaulted(integer({ min: 50, max: 30_000 }), 2000, 'Certificate fetch timeout.'),
});

const cache = object<CertCacheConfig>(
  {
    maxEntries: defaulted(integer({ min: 1, max: 10_000_000 }), 1000, 'Certificates kept in memory.'),
    minTtlS: defaulted(
      integer({ min: 0, max: 31_536_000 }),
      60,
      'Lower bound on a cached certificate lifetime.',
    ),
    maxTtlS: defaulted(
      integer({ min: 1, max: 31_536_000 }),
      86400,
      'Upper bound on a cached certificate lifetime (never past notAfter).',
    ),
    defaultTtlS: defaulted(
      integer({ min: 1, max: 31_536_000 }),
      3600,
      'Lifetime when the response has no Cache-Control/Expires.',
    ),
    negativeTtlS: defaulted(integer({ min: 0, max: 86_400 }), 30, 'How long a failed fetch is remembered.'),
  },
  {
    check(c, at, ctx) {
      const { minTtlS: min, defaultTtlS: def, maxTtlS: max } = c;
      if (min !== undefined && max !== undefined && min > max) {
        ctx.report([...at, 'min_ttl_s'], 'conflict', `must not exceed max_ttl_s (${max})`);
      }
      if (def !== undefined && min !== undefined && max !== undefined && (def < min || def > max)) {
        ctx.report(
          [...at, 'default_ttl_s'],
          'conflict',
          `must be between min_ttl_s (${min}) and max_ttl_s (${max})`,
        );
      }
    },
  },
);

const stirVerification = object<VerificationConfig>({
  trustRootsDir: optional(
    filePath,
    'Directory of trusted STI-CA root certificates (PEM); absent = the dev PKI CA.',
  ),
  maxAgeS: defaulted(
    integer({ min: 1, max: 3600 }),
    60,
    'PASSporT iat older than this is stale (403 Stale Date; RFC 8224 §6.2.1).',
  ),
  maxFutureSkewS: defaulted(integer({ min: 0, max: 300 }), 5, 'How far in the future iat may be.'),
  x5u: defaulted(x5u, {}, 'x5u URL policy, checked before any fetch.'),
  cache: defaulted(cache, {}, 'Certificate cache.'),
  crlFile: optional(filePath, 'PEM/DER CRL checked against the signing certificate.'),
  replay: defaulted(
    object<VerificationConfig['replay']>({
      store: defaulted(oneOf(['memory']), 'memory', 'Where seen PASSporTs are remembered.'),
      maxEntries: defaulted(
        integer({ min: 1, max: 100_000_000 }),
        100000,
        'PASSporTs remembered within the freshness window.',
      ),
      clusterCheck: defaulted(
        oneOf(['broadcast', 'ask_primary']),
        'broadcast',
        "workers > 1: broadcast checks the worker's copy of the store on the call's own loop and shares new keys through the primary (a token used in two workers within the ~5-10 ms its key takes to cross sets up one call in each, counted as late_replay); ask_primary waits for the primary's answer on every call (exact, one IPC round trip per INVITE).",
      ),
    }),
    {},
    'Replay detection.',
  ),
  signatureCheck: defaulted(
    oneOf(['event_loop', 'threadpool']),
    'event_loop',
    'Where the ES256 signature check runs: event_loop (synchronous, ~0.1 ms, no queue) or threadpool (libuv pool shared with file I/O; docs/performance.md).',
  ),
});

const devPki = object<DevPkiConfig>({
  x5uListen: defaulted(
    hostPort,
    '127.0.0.1:8081',
    'host:port of the built-in loopback x5u server for the dev certificate.',
  ),
  spc: defaulted(
    refine(digitsOrString, 'SPC (1..16 letters/digits)', (v, fail) =>
      /^[A-Za-z0-9]{1,16}$/.test(v)
        ? v
        : fail(`${showValue(v)} is not a Service Provider Code (1..16 letters or digits)`),
    ),
    '1234',
    'Service Provider Code in the dev certificate TNAuthList (RFC 8226 §9).',
  ),
});

const stir = object<StirConfig>({
  signing: optional(
    signing,
    'Production signing credentials: all three keys or none. None = dev PKI in data_dir (when any trunk is originating).',
  ),
  verification: defaulted(stirVerification, {}, 'Verification service settings (terminating trunks).'),
  devPki: defaulted(
    devPki,
    {},
    'Development PKI, generated in data_dir when no signing credentials are configured.',
  ),
});

const traceback = object<TracebackConfig>(
  {
    enabled: defaulted(
      boolean(),
      true,
      'Keep a record of every call signed, verified or refused (customer, trunk, source, numbers, PASSporT claims) for traceback requests.',
    ),
    file: optional(filePath, 'SQLite file of the records (mode 0600); absent = traceback.db in data_dir.'),
    retentionDays: defaulted(
      integer({ min: 0, max: 3650 }),
      30,
      'Records older than this are pruned in the background, in small batches; 0 keeps everything (docs/traceback.md "Retention").',
    ),
    queueMax: defaulted(
      integer({ min: 1, max: 10_000_000 }),
      50_000,
      'Records held in memory while the store catches up; past it new ones are dropped and counted (stirgate_traceback_dropped_total).',
    ),
    batchMax: defaulted(
      integer({ min: 1, max: 100_000 }),
      5000,
      'Records written in one store transaction at most (a backlog is caught up 1.7x faster in batches of 5,000 than of 1,000: docs/performance-history.md "Traceback store").',
    ),
    flushMs: defaulted(
      integer({ min: 1, max: 60_000 }),
      200,
      'Longest a record waits in memory before its batch is written (what a crash can lose: docs/traceback.md).',
    ),
  },
  {
    check(t, at, ctx) {
      if (t.batchMax !== undefined && t.queueMax !== undefined && t.batchMax > t.queueMax) {
        ctx.report([...at, 'batch_max'], 'conflict', `must not exceed queue_max (${t.queueMax})`);
      }
    },
  },
);

const policy = object<PolicyConfig>({
  defaultLimits: defaulted(
    customerLimits,
    { cps: 5, burst: 10, max_concurrent: 20 },
    'Limits of a customer without limits: a new customer starts low (docs/operations.md "Customer protections").',
  ),
  destinationClasses: defaulted(
    destinationClasses,
    {},
    'Named lists of called-number prefixes (e.g. high_risk), denied to every customer that does not list the class.',
  ),
  dnoFile: optional(
    filePath,
    'Do-not-originate list: one E.164 number or prefix* per line, # comments; a calling number in it is refused (47 CFR 64.1200(o)).',
  ),
  emergencyNumbers: defaulted(
    array(digits(1, 15), { min: 1, uniqueBy: (n) => n }),
    ['911', '112', '999', '933'],
    'Emergency short codes: a call to one (as dialled, or after the country code) is never refused by a limit or a block.',
  ),
  markHeader: defaulted(
    wireHeaderName,
    'Stirgate-Mark',
    'Header a mark block adds to the B-leg INVITE: "<block id>;match=<kind>" (docs/operations.md).',
  ),
  redress: defaulted(
    object<PolicyConfig['redress']>({
      url: optional(
        redressValue('http(s) URL', /^https?:\/\/[^/]+/, 'https://example.net/redress'),
        'Redress web page in 603+ (ATIS-1000099).',
      ),
      tel: optional(
        redressValue('telephone number', /^\+?[0-9]{1,15}$/, '+18005550100'),
        'Redress telephone number in 603+.',
      ),
      email: optional(
        redressValue('e-mail address', /^[^@]+@[^@]+$/, 'redress@example.net'),
        'Redress e-mail address in 603+.',
      ),
    }),
    {},
    'The contact for wrongly blocked callers, in the Reason of a 603 Network Blocked (ATIS-1000099).',
  ),
});

const overload = object<OverloadConfig>(
  {
    enabled: defaulted(
      boolean(),
      true,
      'Refuse a share of new INVITEs (503 with Retry-After) while the event loop is saturated.',
    ),
    sampleMs: defaulted(
      integer({ min: 10, max: 10_000 }),
      100,
      'How often the event loop is measured and the refused share adjusted, ms.',
    ),
    eluHighPercent: defaulted(
      integer({ min: 1, max: 100 }),
      95,
      'Event-loop utilisation (percent of a sample period busy) from which the refused share grows (with a UDP backlog past backlog_high_percent, where it can be read).',
    ),
    eluLowPercent: defaulted(
      integer({ min: 0, max: 99 }),
      85,
      'Utilisation under which the refused share shrinks again.',
    ),
    lagHighMs: defaulted(
      integer({ min: 1, max: 60_000 }),
      100,
      'Event-loop lateness (ms) from which the refused share grows whatever the utilisation.',
    ),
    udpBacklog: defaulted(
      boolean(),
      true,
      'Require a UDP receive backlog (from /proc/net/udp, where it can be read) as well as a saturated event loop before refusing; false: utilisation and lateness alone.',
    ),
    backlogHighPercent: defaulted(
      integer({ min: 1, max: 100 }),
      5,
      'UDP receive backlog (percent of the socket receive buffer) from which a saturated event loop counts as overloaded.',
    ),
    backlogLowPercent: defaulted(
      integer({ min: 0, max: 99 }),
      1,
      'UDP receive backlog under which the refused share shrinks again, whatever the utilisation.',
    ),
    retryAfterS: defaulted(
      integer({ min: 1, max: 3600 }),
      5,
      'Shortest Retry-After of a refused INVITE, seconds.',
    ),
    retryAfterJitterS: defaulted(
      integer({ min: 0, max: 3600 }),
      10,
      'Retry-After is spread uniformly over retry_after_s .. retry_after_s + this, so callers come back apart.',
    ),
  },
  {
    check(o, at, ctx) {
      if (
        o.eluLowPercent !== undefined &&
        o.eluHighPercent !== undefined &&
        o.eluLowPercent >= o.eluHighPercent
      )
        ctx.report(
          [...at, 'elu_low_percent'],
          'conflict',
          `must be below elu_high_percent (${o.eluHighPercent})`,
        );
      if (
        o.backlogLowPercent !== undefined &&
        o.backlogHighPercent !== undefined &&
        o.backlogLowPercent >= o.backlogHighPercent
      )
        ctx.report(
          [...at, 'backlog_low_percent'],
          'conflict',
          `must be below backlog_high_percent (${o.backlogHighPercent})`,
        );
    },
  },
);

export const configSchema = object<Config>({
  listen: defaulted(
    array(listen, {
      min: 1,
      // Port 0 asks for a fresh port each time: two such entries do not collide.
      uniqueBy: (l) => (l.port === 0 ? undefined : `${l.transport} ${l.address} ${l.port}`),
    }),
    [
      { transport: 'udp', address: '127.0.0.1', port: 5060 },
      { transport: 'tcp', address: '127.0.0.1', port: 5060 },
    ],
    'SIP sockets to open.',
  ),
  sip: defaulted(sip, {}, 'SIP stack settings.'),
  workers: defaulted(
    integer({ min: 1, max: 64 }),
    1,
    'SIP worker processes (event loops) sharing the listen sockets; each UDP datagram is handled by the worker owning its Call-ID. 1 runs everything in one process.',
  ),
  workerUdpPortBase: defaulted(
    integer({ min: 0, max: 65_535 - 64 }),
    0,
    "workers > 1: worker k also binds UDP port base+k on each UDP listen address, sends the requests it originates from it and advertises it in Via/Contact (peers' answers then reach it directly); 0 picks ephemeral ports.",
  ),
  trunks: defaulted(
    array(trunk),
    [],
    'Peers we exchange calls with. A request is matched against trunks in order; first match wins.',
  ),
  routes: defaulted(array(route), [], 'Where B-legs go.'),
  customers: defaulted(array(customer), [], 'Who owns originating trunks and which numbers they may use.'),
  unmatchedSource: defaulted(unmatchedSource, {}, 'Requests from an address that matches no trunk.'),
  stir: defaulted(stir, {}, 'STIR/SHAKEN settings.'),
  dataDir: defaulted(
    string({ min: 1, type: 'path' }),
    '.stirgate',
    'State directory (dev PKI, generated origids), relative to the working directory.',
  ),
  metrics: defaulted(
    object<Config['metrics']>({
      listen: defaulted(
        hostPortOrOff,
        '127.0.0.1:9464',
        'host:port of the Prometheus /metrics endpoint; "" turns it off.',
      ),
    }),
    {},
    'Prometheus endpoint.',
  ),
  log: defaulted(
    object<Config['log']>({
      level: defaulted(
        oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
        'info',
        'Log level (pino).',
      ),
    }),
    {},
    'Logging.',
  ),
  traceback: defaulted(traceback, {}, 'Traceback records: who sent each call (docs/traceback.md).'),
  admin: defaulted(
    object<Config['admin']>({
      listen: defaulted(
        hostPortOrOff,
        '127.0.0.1:9465',
        'host:port of the admin HTTP API (docs/traceback.md, ADMIN-API.md); "" turns it off. Loopback by default: exposing it is an explicit choice.',
      ),
      tokenFile: optional(
        filePath,
        'Bearer tokens of the admin API, one `name:token` per line; absent = <data_dir>/admin-token, created with a random token (mode 0600) at first start.',
      ),
    }),
    {},
    'Admin HTTP API.',
  ),
  policy: defaulted(
    policy,
    {},
    'Customer protections and blocks: limits, destination classes, do-not-originate, emergency numbers, 603+ redress.',
  ),
  overload: defaulted(
    overload,
    {},
    'Overload control: shedding new INVITEs early while the event loop is saturated.',
  ),
  drainTimeoutS: defaulted(
    integer({ min: 0, max: 86_400 }),
    60,
    'SIGTERM: new INVITEs get 503, established calls go on this long (seconds), then both legs get a BYE and the process exits; a second SIGTERM ends at once.',
  ),
});
