/**
 * Parse benchmark for the SIP message layer, with the npm `sip` package's parser as a baseline measured in the
 * same run. Build and run from the repository root:
 *
 *   npx tsc -p tsconfig.build.json && node_modules/.bin/node dist/bench/parse.js [--write-doc]
 *
 * `--write-doc` rewrites the "Parse" section of docs/performance.md (between `<!-- parse:start -->` and
 * `<!-- parse:end -->`; other sections untouched).
 *
 * Every case runs in a fresh child process (`--case=N`): a warm-up, then ROUNDS_PER_CHILD rounds of ~ROUND_MS
 * of process CPU time each. The parent runs the cases in turn, REPS times, so changing load on a shared
 * machine hits them alike. Rates are medians, per CPU-second of one core; a ratio is the median over
 * repetitions of the ratio of two processes that ran back to back.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { SipRequest } from '../src/sip/message/message.js';
import { DEFAULT_MESSAGE_LIMITS, frameLength, parseMessage } from '../src/sip/message/parse.js';
import { serializeMessage } from '../src/sip/message/serialize.js';
import { uriUserNumber } from '../src/sip/message/uri.js';

const REPS = 5;
const ROUNDS_PER_CHILD = 3;
const ROUND_MS = 200;
const WARMUP_MS = 300;

const SDP = [
  'v=0',
  'o=- 3912345678 3912345678 IN IP4 198.51.100.10',
  's=-',
  'c=IN IP4 198.51.100.10',
  't=0 0',
  'm=audio 20000 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  '',
].join('\r\n');

/** A realistic carrier INVITE: two Vias, PAI with sip and tel URIs, Record-Route, SDP body. */
export const INVITE = Buffer.from(
  [
    'INVITE sip:+12025551234@gw.example.net:5060;user=phone SIP/2.0',
    'Via: SIP/2.0/UDP 198.51.100.10:5060;branch=z9hG4bK776asdhds4f2a;rport',
    'Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKnashds8;received=203.0.113.5',
    'Max-Forwards: 69',
    'From: "Alice Example" <sip:+13035551111@carrier.example.com;user=phone>;tag=1928301774',
    'To: <sip:+12025551234@gw.example.net;user=phone>',
    'Call-ID: a84b4c76e66710f3a9d2@pc33.carrier.example.com',
    'CSeq: 314159 INVITE',
    'Contact: <sip:+13035551111@198.51.100.10:5060;transport=udp>',
    'P-Asserted-Identity: "Alice Example" <sip:+13035551111@carrier.example.com;user=phone>, <tel:+13035551111>',
    'Record-Route: <sip:198.51.100.10;lr>',
    'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, PRACK, UPDATE, INFO',
    'Supported: 100rel, timer, replaces',
    'Session-Expires: 1800',
    'P-Charging-Vector: icid-value=1234bc9876e;orig-ioi=home1.net',
    'User-Agent: ExampleSBC/4.2.1',
    'Content-Type: application/sdp',
    `Content-Length: ${Buffer.byteLength(SDP)}`,
    '',
    SDP,
  ].join('\r\n'),
  'latin1',
);

interface NpmAor {
  name?: string;
  uri: string;
  params: Record<string, string | null>;
}

interface NpmSip {
  parse(s: string | Buffer): { uri: string; headers: Record<string, unknown> } | undefined;
  parseUri(s: string): { user?: string } | undefined;
  parseAOR(d: { s: string; i: number }): NpmAor;
}

/**
 * The reads a STIR B2BUA makes on every INVITE: transaction keys (top Via branch, every Via), dialog keys
 * (From/To tags, Call-ID, CSeq), Max-Forwards, Content-Length, and the numbers it signs or verifies
 * (Request-URI, From, To and P-Asserted-Identity URIs).
 */
function ours(buf: Buffer): number {
  const m = parseMessage(buf) as SipRequest;
  let x = 0;
  x += m.topVia!.branch!.length;
  x += m.via.length;
  x += m.from.tag!.length;
  x += uriUserNumber(m.from.uri)!.length;
  x += m.to.tag === undefined ? 1 : 0;
  x += uriUserNumber(m.to.uri)!.length;
  x += m.callId.length;
  x += m.cseq.seq & 1;
  x += m.maxForwards ?? 0;
  x += m.contentLength;
  x += uriUserNumber(m.requestUri)!.length;
  for (const pai of m.pAssertedIdentity) x += uriUserNumber(pai.uri)!.length;
  return x;
}

/**
 * Baseline: npm `sip` parse (it parses Via, From, To, Contact, Route and CSeq eagerly, URIs only on request),
 * then the same reads, using its own parseUri / parseAOR where it leaves text.
 */
function theirs(sip: NpmSip, buf: Buffer): number {
  const m = sip.parse(buf);
  if (m === undefined) throw new Error('npm sip failed to parse the benchmark message');
  const h = m.headers as {
    via: { params: { branch: string } }[];
    from: NpmAor;
    to: NpmAor;
    'call-id': string;
    cseq: { seq: number };
    'max-forwards': string;
    'content-length': number;
    'p-asserted-identity': string;
  };
  let x = 0;
  x += h.via[0]!.params.branch.length;
  x += h.via.length;
  x += (h.from.params.tag ?? '').length;
  x += sip.parseUri(h.from.uri)?.user?.length ?? 0;
  x += h.to.params.tag === undefined ? 1 : 0;
  x += sip.parseUri(h.to.uri)?.user?.length ?? 0;
  x += h['call-id'].length;
  x += h.cseq.seq & 1;
  x += Number(h['max-forwards']);
  x += h['content-length'];
  x += sip.parseUri(m.uri)?.user?.length ?? 0;
  // P-Asserted-Identity is a comma list; npm sip leaves it as text.
  const d = { s: h['p-asserted-identity'], i: 0 };
  for (;;) {
    const aor = sip.parseAOR(d);
    x += sip.parseUri(aor.uri)?.user?.length ?? 1; // its parseUri knows only sip:, so tel: gives undefined
    const comma = /\s*,\s*/y;
    comma.lastIndex = d.i;
    if (!comma.test(d.s)) break;
    d.i = comma.lastIndex;
  }
  return x;
}

export interface Rate {
  readonly name: string;
  /** Median over rounds, operations per CPU-second. */
  readonly opsPerSec: number;
  readonly rounds: number[];
}

/** CPU time of this process in ms: other processes on a shared machine do not count against us. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function round(fn: () => number, ms: number): number {
  let sink = 0;
  let ops = 0;
  const t0 = cpuMs();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 500; i++) sink += fn();
    ops += 500;
    t = cpuMs();
  }
  if (sink === -1) console.log('unreachable');
  return (ops * 1000) / (t - t0);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US').padStart(11);
}

/** The timed cases; each returns a number so the work cannot be optimised away. */
function cases(): [name: string, fn: () => number, messagesPerCall: number][] {
  const require = createRequire(import.meta.url);
  const sip = require('sip') as NpmSip;
  const parsed = parseMessage(INVITE);
  // Sanity: both parsers read the message before we time them.
  if (ours(INVITE) <= 0 || theirs(sip, INVITE) <= 0) throw new Error('benchmark message did not parse');
  const stream = Buffer.concat([INVITE, INVITE, INVITE, INVITE]);
  return [
    ['stirgate parse + B2BUA/STIR reads', () => ours(INVITE), 1],
    ['npm sip parse + same reads (baseline)', () => theirs(sip, INVITE), 1],
    ['stirgate parseMessage only', () => parseMessage(INVITE).headers.length, 1],
    ['npm sip parse only (baseline)', () => sip.parse(INVITE)!.uri.length, 1],
    ['stirgate serializeMessage', () => serializeMessage(parsed).length, 1],
    [
      'stirgate frameLength',
      () => {
        let off = 0;
        while (off < stream.length) off += frameLength(stream, off, DEFAULT_MESSAGE_LIMITS);
        return off;
      },
      4,
    ],
  ];
}

/** Child mode: warm one case up, time ROUNDS_PER_CHILD rounds, print the rates as JSON. */
function child(index: number): void {
  const c = cases()[index];
  if (c === undefined) throw new Error(`no case ${index}`);
  const [, fn, per] = c;
  round(fn, WARMUP_MS);
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS_PER_CHILD; r++) rates.push(round(fn, ROUND_MS) * per);
  process.stdout.write(JSON.stringify(rates));
}

/**
 * Each case runs in its own fresh process (no JIT or GC state shared between parsers), REPS times in
 * turn (case 1, case 2, ..., then again) so changing machine load hits every case alike.
 */
export function main(): Rate[] {
  const script = fileURLToPath(import.meta.url);
  const names = cases().map(([name]) => name);
  const perRep: number[][][] = names.map(() => []); // [case][rep] -> rounds
  const run = (i: number): void => {
    const out = execFileSync(process.execPath, [script, `--case=${i}`], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    perRep[i]!.push(JSON.parse(out) as number[]);
  };
  for (let rep = 0; rep < REPS; rep++) {
    // The compared pairs back to back; serialize and framing (no baseline) on the first repetitions only.
    for (const i of rep < 2 ? [0, 1, 2, 3, 4, 5] : [0, 1, 2, 3]) run(i);
  }
  const results: Rate[] = names.map((name, i) => {
    const rounds = perRep[i]!.flat();
    return { name, opsPerSec: median(rounds), rounds };
  });
  // Ratio per repetition (the two processes ran back to back), then the median over repetitions.
  const ratio = (a: number, b: number): number =>
    median(perRep[a]!.map((rounds, rep) => median(rounds) / median(perRep[b]![rep]!)));
  console.log(
    `SIP parse benchmark: ${INVITE.length}-byte INVITE with SDP; node ${process.version}; ` +
      `up to ${REPS} processes per case x ${ROUNDS_PER_CHILD} rounds of ${ROUND_MS} ms CPU, medians`,
  );
  for (const r of results) console.log(`${r.name.padEnd(40)} ${fmt(r.opsPerSec)} msg/s`);
  const readsRatio = ratio(0, 1);
  const parseRatio = ratio(2, 3);
  console.log(`ratio stirgate / npm sip, parse + reads: ${readsRatio.toFixed(2)}x`);
  console.log(`ratio stirgate / npm sip, parse only:    ${parseRatio.toFixed(2)}x`);
  if (process.argv.includes('--write-doc')) writeDoc(results, readsRatio, parseRatio);
  return results;
}

const START = '<!-- parse:start -->';
const END = '<!-- parse:end -->';

/** Replace (or append) the Parse section of docs/performance.md; run from the repository root. */
function writeDoc(results: Rate[], readsRatio: number, parseRatio: number): void {
  const path = join(process.cwd(), 'docs', 'performance.md');
  let doc: string;
  try {
    doc = readFileSync(path, 'utf8');
  } catch {
    doc = '# Performance\n';
  }
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const section = [
    START,
    '## Parse',
    '',
    'Command: `npx tsc -p tsconfig.build.json && node_modules/.bin/node dist/bench/parse.js --write-doc`',
    '',
    `Environment: node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ` +
      `load average ${loadavg()[0]!.toFixed(1)} when written.`,
    '',
    `Message: a ${INVITE.length}-byte carrier INVITE with SDP (two Vias, From/To with user=phone, P-Asserted-Identity`,
    'with a sip and a tel URI, Record-Route, 17 header lines), `bench/parse.ts`. Rates are per CPU-second of one',
    'core (process CPU time, so other load on the machine counts less). Each case runs in its own fresh process',
    `(no JIT or GC state shared between the two parsers): a ${WARMUP_MS} ms warm-up, then ${ROUNDS_PER_CHILD} rounds of`,
    `${ROUND_MS} ms; the compared pairs run in turn ${REPS} times (serialize and framing twice). Rates are medians of`,
    'all rounds; ratios are medians over the repetitions of back-to-back process pairs, against the npm `sip` 0.0.6',
    'parser in the same run.',
    '',
    '| case | messages/s |',
    '|---|---|',
    ...results.map((r) => `| ${r.name} | ${n(r.opsPerSec)} |`),
    '',
    `Ratio stirgate / npm sip: **${readsRatio.toFixed(2)}x** parse + reads, **${parseRatio.toFixed(2)}x** parse only.`,
    'Targets: >= 150,000 msg/s parse + reads (met on a quiet machine, ~100-160k under load); >= 3x npm sip (not met:',
    'about 2.1x; see notes).',
    '',
    '"Reads" are what the B2BUA and STIR layers take from every INVITE: top Via branch, all Vias, From/To tags and',
    'URI user parts, Call-ID, CSeq, Max-Forwards, Content-Length, Request-URI user, both P-Asserted-Identity URIs.',
    "stirgate's parseMessage already validates the Request-URI, every Via, From, To, Call-ID, CSeq, Max-Forwards",
    'and Content-Length (RFC 4475 behaviour); npm sip validates nothing and leaves URIs and P-Asserted-Identity as',
    'text, so its "same reads" row calls its own parseUri / parseAOR for them.',
    '',
    'Notes: on this VM a JavaScript loop costs 2-4 ns per character while a native `indexOf` costs about 10 ns per',
    'call whatever the distance, so the parser jumps between delimiters with native searches (one latin1 decode',
    'of the message, `indexOf` per line, a seeded table of header-name spellings, regex scans to prove a',
    'parameter list has no LWS/quotes before splitting it with `indexOf`) and keeps character loops for short',
    'tokens. The profile is flat after that (line split ~20 %, URIs ~17 %, Via ~12 %, name-addr ~10 %, GC ~7 %).',
    'Rates move by up to +-40 % with other load on the shared 2-vCPU machine (a busy sibling vCPU slows the same',
    'process CPU time); the ratios move less. Forcing a full GC before each round makes npm sip about 25 % slower',
    '(ratio ~3.2x), and sharing one process lets its garbage be collected during our rounds (ratio ~2.2x but our',
    'rates drop); fresh processes per case avoid both. What 3x would take: parse less eagerly than RFC 4475 asks',
    '(e.g. only the top Via, From/To tags without their URIs), or lazily parsed URI objects, a contract change.',
    END,
  ].join('\n');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  const next =
    a >= 0 && b > a
      ? doc.slice(0, a) + section + doc.slice(b + END.length)
      : `${doc.trimEnd()}\n\n${section}\n`;
  writeFileSync(path, next);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = process.argv.find((a) => a.startsWith('--case='));
  if (arg !== undefined) child(Number(arg.slice('--case='.length)));
  else main();
}
