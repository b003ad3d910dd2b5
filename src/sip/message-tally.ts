/**
 * Counts the call path keeps as plain numbers instead of publishing an event per message or transaction:
 * SIP messages in and out (by transport, method or status class; bytes and raw re-sends out) and
 * transactions created and terminated. src/metrics/ reads them at scrape time (stirgate_sip_requests_total,
 * _responses_total, _raw_messages_sent_total, _sent_bytes_total, _transactions_total,
 * _transactions_terminated_total). With an event per message and per transaction instead (some 22 per call),
 * a signing element used 12-16 % more CPU at 450-900 calls/s (docs/performance-history.md, "2026-11-22 night"); a
 * count here is a Map update. The `stirgate:transport:message_*` and `stirgate:transaction:created/terminated` events are still
 * published to whoever subscribes (logs, tests, tools).
 *
 * Process-wide totals since the process started, like the diagnostics channels: a reader that starts later
 * subtracts what it saw at its start (`snapshotTally`). Keys are bounded: methods are folded (`methodLabel`),
 * causes are TerminationCause, status classes 1xx-6xx or `other`.
 */

/** Counts under one key, created on first use. */
type Counts = Map<string, number>;

function bump(counts: Counts, key: string, by = 1): void {
  counts.set(key, (counts.get(key) ?? 0) + by);
}

/** What one reader sees: every count as `[group, a, b, c, value]` rows (see `tallyRows`). */
export type TallyRow = readonly [group: TallyGroup, a: string, b: string, c: string, value: number];
export type TallyGroup =
  | 'requests'
  | 'responses'
  | 'raw_sent'
  | 'bytes_sent'
  | 'tx_created'
  | 'tx_terminated';

// One Map per group, keyed by the label values joined with a space (labels never contain one).
const groups: Record<TallyGroup, Counts> = {
  requests: new Map(),
  responses: new Map(),
  raw_sent: new Map(),
  bytes_sent: new Map(),
  tx_created: new Map(),
  tx_terminated: new Map(),
};

// Keys are built once per distinct label set and reused: no string is made per message.
const keyCache = new Map<string, Map<string, Map<string, string>>>();
function key(a: string, b: string, c: string): string {
  let l1 = keyCache.get(a);
  if (l1 === undefined) {
    l1 = new Map();
    keyCache.set(a, l1);
  }
  let l2 = l1.get(b);
  if (l2 === undefined) {
    l2 = new Map();
    l1.set(b, l2);
  }
  let k = l2.get(c);
  if (k === undefined) {
    k = `${a} ${b} ${c}`;
    l2.set(c, k);
  }
  return k;
}

/** The status classes a metric label keeps (RFC 3261 §7.2: 1xx-6xx); anything else is `other`. */
export const STATUS_CLASS_LABELS = ['1xx', '2xx', '3xx', '4xx', '5xx', '6xx'] as const;

const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'REGISTER',
  'PRACK',
  'UPDATE',
  'INFO',
  'REFER',
  'NOTIFY',
  'SUBSCRIBE',
  'MESSAGE',
  'PUBLISH',
]);

/** Method as a metric label: peers choose method names, so unknown ones fold into `other`. */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.has(method) ? method : 'other';
}

/** A request in or out (the method is folded by `methodLabel`). */
export function tallyRequest(direction: 'in' | 'out', protocol: string, method: string): void {
  bump(groups.requests, key(direction, protocol, methodLabel(method)));
}

/** A response in or out, by status class (`2xx`...; `other` outside 100-699). */
export function tallyResponse(direction: 'in' | 'out', protocol: string, status: number): void {
  const label = STATUS_CLASS_LABELS[Math.floor(status / 100) - 1] ?? 'other';
  bump(groups.responses, key(direction, protocol, label));
}

/** Bytes sent, and whether they were pre-serialised bytes sent again (a retransmission). */
export function tallySent(protocol: string, bytes: number, raw: boolean): void {
  const k = key(protocol, '', '');
  bump(groups.bytes_sent, k, bytes);
  if (raw) bump(groups.raw_sent, k);
}

/** A transaction created (the method is folded by `methodLabel`). */
export function tallyTransactionCreated(side: 'client' | 'server', method: string): void {
  bump(groups.tx_created, key(side, methodLabel(method), ''));
}

export function tallyTransactionTerminated(side: 'client' | 'server', cause: string): void {
  bump(groups.tx_terminated, key(side, cause, ''));
}

/** The totals now, to subtract later: a reader's zero. */
export function snapshotTally(): ReadonlyMap<TallyGroup, ReadonlyMap<string, number>> {
  const out = new Map<TallyGroup, ReadonlyMap<string, number>>();
  for (const g of Object.keys(groups) as TallyGroup[]) out.set(g, new Map(groups[g]));
  return out;
}

/** Every count, minus what `since` held (rows with nothing since are left out). */
export function tallyRows(since?: ReadonlyMap<TallyGroup, ReadonlyMap<string, number>>): TallyRow[] {
  const rows: TallyRow[] = [];
  for (const g of Object.keys(groups) as TallyGroup[]) {
    const base = since?.get(g);
    for (const [k, v] of groups[g]) {
      const value = v - (base?.get(k) ?? 0);
      if (value === 0) continue;
      const [a = '', b = '', c = ''] = k.split(' ');
      rows.push([g, a, b, c, value]);
    }
  }
  return rows;
}
