import fc from 'fast-check';
import { parseTime, TracebackRequestError, tracebackQuery } from '../../src/admin/traceback-request.js';
import { ControlError } from '../../src/control/control-error.js';
import { parseLimits, parseNewBlock, parseRemoval } from '../../src/control/control-input.js';
import { BLOCK_MATCH_KINDS } from '../../src/policy/controls.js';
import { TracebackQueryError } from '../../src/traceback/errors.js';
import { checkQuery, MAX_QUERY_LIMIT, MAX_QUERY_WINDOW_MS } from '../../src/traceback/query-checks.js';
import { type FuzzTarget, invariant } from '../fuzz-target.js';
import { mutationsOf, utf8 } from '../mutate.js';

const NOW = Date.UTC(2026, 11, 7, 12);
const CONFIGURED = {
  hasCustomer: (n: string) => n === 'acme',
  hasTrunk: (n: string) => n === 'cust-a',
};

/** Values of the kinds the admin API reads (numbers as text, E.164, dates, names), and any JSON at all. */
const value = fc.oneof(
  fc.constantFrom(
    '+12025550100',
    '12025550100',
    'acme',
    'cust-a',
    'reject',
    'mark',
    '2026-12-08T00:00:00Z',
    '1h',
  ),
  fc.constantFrom(0, -1, 1.5, 1e21, 100_000, 100_001, Number.MAX_SAFE_INTEGER),
  fc.jsonValue({ maxDepth: 2 }),
);
const key = fc.constantFrom(
  ...BLOCK_MATCH_KINDS,
  'match',
  'action',
  'reason',
  'ticket',
  'expires',
  'cps',
  'burst',
  'max_concurrent',
  '__proto__',
  'constructor',
);
const body = fc.dictionary(key, fc.oneof(value, fc.dictionary(key, value, { maxKeys: 3 })), { maxKeys: 6 });
const seeds = [
  '{"match":{"calling":"+12025550100"},"action":"reject","reason":"robocall campaign","ticket":"T-1","expires":"2026-12-08T00:00:00Z"}',
  '{"match":{"customer":"acme"},"action":"reject","reason":"abuse"}',
  '{"reason":"resolved"}',
  '{"cps":10,"burst":20,"max_concurrent":null,"reason":"trial"}',
].map((s) => new Uint8Array(Buffer.from(s)));

const isControl = (e: unknown): boolean => e instanceof ControlError;

/**
 * The admin API's request parsing: a JSON body (JSON.parse: a SyntaxError is the API's `invalid_json`) read
 * by the control plane's parsers for POST /v1/blocks, DELETE /v1/blocks/{id} and PUT .../limits (declared:
 * ControlError), and the traceback search parameters and times (declared: TracebackRequestError returned,
 * then the stores' checkQuery: TracebackQueryError). Invariants: every ControlError names a code; a query
 * that passes both has a limit of 1..1000 and an ordered window of at most 31 days.
 */
export const adminJson: FuzzTarget = {
  name: 'admin-json',
  about: 'JSON.parse + parseNewBlock/parseRemoval/parseLimits (ControlError); tracebackQuery, parseTime',
  inputs: fc.oneof(
    mutationsOf(seeds, [0x7b, 0x7d, 0x5b, 0x5d, 0x22, 0x3a, 0x2c, 0x5c, 0x30, 0x2d, 0x2e, 0x65]),
    utf8(body.map((b) => JSON.stringify(b))),
  ),
  run(input) {
    const text = input.toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      parsed = text;
    }
    for (const parse of [
      () => parseNewBlock(parsed, CONFIGURED, NOW),
      () => parseRemoval(parsed),
      () => parseLimits(parsed),
    ]) {
      try {
        parse();
      } catch (e) {
        if (!isControl(e)) throw e;
        invariant(typeof (e as ControlError).code === 'string', 'ControlError without a code');
      }
    }
    // The same text as traceback search parameters (each field a string or a number, as the query parser gives).
    const o = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
    const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
    const num = (k: string) => (typeof o[k] === 'number' ? (o[k] as number) : undefined);
    const params = {
      ...(str('calling') !== undefined ? { orig: str('calling')! } : {}),
      ...(str('called') !== undefined ? { dest: str('called')! } : {}),
      ...(str('reason') !== undefined ? { origid: str('reason')! } : {}),
      ...(str('ticket') !== undefined ? { call_id: str('ticket')! } : {}),
      ...(num('cps') !== undefined ? { from: num('cps')! } : {}),
      ...(num('burst') !== undefined ? { to: num('burst')! } : {}),
      ...(num('max_concurrent') !== undefined ? { limit: num('max_concurrent')! } : {}),
    };
    // tracebackQuery checks the parameters' combination; every store then checks the limit and the window
    // (checkQuery) before it runs a query. What passes both is bounded.
    const q = tracebackQuery(params, NOW);
    if (!(q instanceof TracebackRequestError)) {
      try {
        checkQuery(q);
      } catch (e) {
        if (!(e instanceof TracebackQueryError)) throw e;
        return;
      }
      invariant(Number.isInteger(q.limit) && q.limit >= 1 && q.limit <= MAX_QUERY_LIMIT, `limit ${q.limit}`);
      if ('window' in q) {
        invariant(
          q.window.from <= q.window.to && q.window.to - q.window.from <= MAX_QUERY_WINDOW_MS,
          `window ${q.window.from}..${q.window.to}`,
        );
      }
    }
    const t = parseTime(text, NOW, true);
    invariant(t === undefined || Number.isFinite(t), `parseTime gave ${t}`);
  },
};
