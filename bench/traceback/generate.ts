import type { TracebackCallEvent, TracebackEndEvent, TracebackEvent } from '../../src/events.js';

/**
 * Realistic traceback traffic for the benchmark, deterministic from a seed: a few thousand customers (each
 * with its origid, trunks and source addresses), calling numbers drawn Zipf-like (a few numbers make many calls,
 * most make few), called numbers likewise from a larger pool, times spread evenly over `days` in arrival
 * order, 60 % signed / 30 % verified / 10 % refused, and an end event for nine calls in ten some calls later
 * (so a batch mixes inserts and updates like the writer's).
 */

export interface GenOptions {
  readonly records: number;
  readonly days: number;
  readonly start: number;
  readonly seed: number;
  readonly customers?: number;
  readonly callingPool?: number;
  readonly calledPool?: number;
}

/** What a lookup in the benchmark is built from: a record that exists. */
export interface Sample {
  readonly time: number;
  readonly digest: string | undefined;
  readonly origid: string | undefined;
  readonly iat: number | undefined;
  readonly calling: string;
  readonly called: string;
  readonly aCallId: string;
  readonly bCallId: string | undefined;
}

/** mulberry32: a small, fast, seeded PRNG (uniform [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Zipf-Mandelbrot-like rank in [0, n): log-uniform over [q, n + q) minus q. With q = 100 and 2 million
 * numbers the busiest number makes about 0.1 % of the calls (a call centre's main line), the median one a few.
 */
function skewedRank(u: number, n: number, q = 100): number {
  return Math.min(n - 1, Math.floor(q ** (1 - u) * (n + q) ** u) - q);
}

const HEX = '0123456789abcdef';
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function hex(rand: () => number, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += HEX[(rand() * 16) | 0];
  return s;
}

/** 43 base64url characters: the shape of a SHA-256 digest (src/b2bua/traceback-events.ts passportDigest). */
function digest(rand: () => number): string {
  let s = '';
  for (let i = 0; i < 43; i++) s += B64URL[(rand() * 64) | 0];
  return s;
}

function uuid(rand: () => number): string {
  const h = hex(rand, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

interface Customer {
  readonly name: string;
  readonly origid: string;
  readonly trunks: readonly string[];
  readonly addresses: readonly string[];
}

const UPSTREAM_SPCS = ['1234', '567J', '089K', '2201', '77AB', '9F10'];
const END_LAG = 400;

/** Yields batches of events (`batch` call events each, plus the ends that fall due) and samples 1 in `every`. */
export function* generate(
  o: GenOptions,
  batch: number,
  sampleEvery: number,
  samples: Sample[],
): Generator<TracebackEvent[]> {
  const rand = prng(o.seed);
  const nCustomers = o.customers ?? 3000;
  const callingPool = o.callingPool ?? 2_000_000;
  const calledPool = o.calledPool ?? 5_000_000;
  const customers: Customer[] = Array.from({ length: nCustomers }, (_, i) => ({
    name: `customer-${i}`,
    origid: uuid(rand),
    trunks: Array.from({ length: 1 + ((rand() * 3) | 0) }, (_, t) => `c${i}-trunk-${t}`),
    addresses: Array.from(
      { length: 1 + ((rand() * 2) | 0) },
      () => `10.${(rand() * 256) | 0}.${(rand() * 256) | 0}.${1 + ((rand() * 254) | 0)}`,
    ),
  }));
  const span = o.days * 86_400_000;
  const run = hex(rand, 12);
  const ends: TracebackEndEvent[] = [];
  let out: TracebackEvent[] = [];
  for (let n = 0; n < o.records; n++) {
    const time = o.start + Math.floor((n * span) / o.records);
    const callingRank = skewedRank(rand(), callingPool);
    const calledRank = skewedRank(rand(), calledPool);
    // A number belongs to one customer (its calls come from that customer's trunks).
    const c = customers[(callingRank * 2654435761) % nCustomers]!;
    const calling = `1${String(2012000000 + callingRank * 3)}`;
    const called = `1${String(3012000000 + calledRank * 7)}`;
    const r = rand();
    const role = r < 0.6 ? 'signed' : r < 0.9 ? 'verified' : 'refused';
    const key = `${run}-${n}`;
    const aCallId = `${hex(rand, 16)}@${c.addresses[0]}`;
    const bCallId = role === 'refused' ? undefined : `${hex(rand, 20)}@stirgate`;
    const iat = Math.floor(time / 1000);
    const call: TracebackCallEvent = {
      kind: 'call',
      key,
      time,
      role,
      trunk: role === 'verified' ? `peer-${(rand() * 6) | 0}` : c.trunks[(rand() * c.trunks.length) | 0]!,
      trunkRole: role === 'verified' ? 'terminating' : 'originating',
      customer: role === 'verified' ? undefined : c.name,
      source: { address: c.addresses[(rand() * c.addresses.length) | 0]!, port: 5060, transport: 'udp' },
      aCallId,
      bCallId,
      nextHop: role === 'refused' ? undefined : 'udp:10.200.0.1:5060',
      calling: { received: calling.slice(1), canonical: calling },
      called: { received: `+${called}`, canonical: called },
      ...(role === 'signed'
        ? { signed: { attest: rand() < 0.8 ? 'A' : 'B', origid: c.origid, iat, digest: digest(rand) } }
        : {}),
      ...(role === 'verified'
        ? {
            verified: {
              code: 'passed',
              verstat: 'TN-Validation-Passed',
              attest: 'A',
              origid: c.origid,
              iat: iat - 1,
              x5u: `https://cert.upstream.example/${c.name}.pem`,
              spc: UPSTREAM_SPCS[callingRank % UPSTREAM_SPCS.length]!,
              subject: `CN=SHAKEN ${UPSTREAM_SPCS[callingRank % UPSTREAM_SPCS.length]}`,
            },
          }
        : {}),
      ...(role === 'refused' ? { refused: { status: 403, cause: 'policy' } } : {}),
    } as TracebackCallEvent;
    out.push(call);
    if (n % sampleEvery === 0)
      samples.push({
        time,
        digest: call.signed?.digest,
        origid: call.signed?.origid ?? call.verified?.origid,
        iat: call.signed?.iat ?? call.verified?.iat,
        calling,
        called,
        aCallId,
        bCallId,
      });
    if (rand() < 0.9) {
      const answered = rand() < 0.6;
      ends.push({
        kind: 'end',
        key,
        time: time + 30_000,
        answered,
        status: answered ? 200 : 486,
        durationMs: answered ? 25_000 : undefined,
        cause: answered ? 'bye' : 'rejected',
      });
    }
    // Ends fall due END_LAG calls later (a call lasts a while): the writer sees them in later batches.
    while (ends.length > END_LAG) out.push(ends.shift()!);
    if ((n + 1) % batch === 0) {
      yield out;
      out = [];
    }
  }
  out.push(...ends);
  if (out.length > 0) yield out;
}
