import { randomBytes } from 'node:crypto';
import {
  type CallEndCause,
  type RefusalCause,
  type TracebackCallEvent,
  type TracebackRole,
  tracebackChannel,
} from '../events.js';
import type { SipRequest } from '../sip/message/message.js';
import type { Flow } from '../sip/transport/types.js';
import { passportDigest } from '../stir/ppt/digest.js';
import { canonicalizeTn } from '../stir/tn.js';
import type { Call } from './call.js';
import { calledNumbers, callingNumber } from './call-numbers.js';
import type { CallFacts } from './invite-hooks.js';
import type { NextHop, TrunkRuntime } from './router.js';

/**
 * The call's traceback record on `stirgate:traceback` (src/events.ts): one event when its identity handling
 * is decided (forwarded to the first next hop, or refused) and one when it ends. Everything here runs only
 * when the traceback writer subscribes; the numbers are canonicalised and the PASSporT digested here, not on
 * the call path of an element that keeps no records.
 */

export function tracebackObserved(): boolean {
  return tracebackChannel.hasSubscribers;
}

/**
 * The keys of one element's records (one B2BUA): `<element>-<n>`, unique across restarts, cluster workers and
 * elements that share a process (`npm run demo`, tests). The element's traceback writer takes only the events
 * whose key starts with its element's prefix: the channel is process-wide, and two elements in one process
 * must not store each other's calls.
 */
export class RecordKeys {
  readonly element: string = randomBytes(6).toString('hex');
  #n = 0;

  next(): string {
    return `${this.element}-${++this.#n}`;
  }

  /** Whether a record key is one of this element's. */
  owns(key: string): boolean {
    return (
      key.length > this.element.length && key.startsWith(this.element) && key[this.element.length] === '-'
    );
  }
}

function callKey(call: Call, keys: RecordKeys): string {
  call.recordKey ??= keys.next();
  return call.recordKey;
}

/**
 * The call's record: once it is forwarded to its first next hop (signed, verified or passed through), refused
 * by a hook (`refused`), or when it ends before either (cancelled while a hook waited).
 */
export function publishCallRecord(
  call: Call,
  keys: RecordKeys,
  refused?: TracebackCallEvent['refused'],
): void {
  const aInvite = call.aInvite;
  if (call.recordedHop !== undefined || aInvite === undefined) return;
  call.recordedHop = call.hopIndex;
  const hop = call.b === undefined ? undefined : call.trunk.route.hops[call.hopIndex];
  tracebackChannel.publish(
    callEvent({
      key: callKey(call, keys),
      time: call.startedAtMs,
      role: refused !== undefined ? 'refused' : roleOf(call.facts),
      trunk: call.trunk,
      flow: call.aFlow,
      req: aInvite,
      facts: call.facts,
      ...(call.b !== undefined ? { bCallId: call.b.callId } : {}),
      ...(hop !== undefined ? { nextHop: hopLabel(hop) } : {}),
      ...(refused !== undefined ? { refused } : {}),
    }),
  );
}

/** An INVITE refused before it became a call (unknown source, call limit, loop). */
export function publishRefusedInvite(
  keys: RecordKeys,
  req: SipRequest,
  flow: Flow,
  trunk: TrunkRuntime | undefined,
  status: number,
  cause: RefusalCause,
): void {
  tracebackChannel.publish(
    callEvent({
      key: keys.next(),
      time: Date.now(),
      role: 'refused',
      trunk,
      flow,
      req,
      facts: {},
      refused: { status, cause },
    }),
  );
}

/** The call ended (after its record, which is published first if it has not been). */
export function publishEnded(call: Call, keys: RecordKeys, cause: CallEndCause): void {
  publishCallRecord(call, keys);
  const now = Date.now();
  const moved = call.recordedHop !== undefined && call.recordedHop !== call.hopIndex;
  const hop = call.trunk.route.hops[call.hopIndex];
  tracebackChannel.publish({
    kind: 'end',
    key: callKey(call, keys),
    time: now,
    ...(moved && call.b !== undefined ? { bCallId: call.b.callId } : {}),
    ...(moved && hop !== undefined ? { nextHop: hopLabel(hop) } : {}),
    answered: call.answeredAtMs !== undefined,
    status: call.finalStatus,
    durationMs: call.answeredAtMs === undefined ? undefined : now - call.answeredAtMs,
    cause,
  });
}

/** Where a pasted Identity header's digest is computed too (src/stir/ppt/digest.ts). */
export { passportDigest };

function roleOf(facts: CallFacts): TracebackRole {
  if (facts.signed !== undefined) return 'signed';
  if (facts.verified !== undefined) return 'verified';
  return 'forwarded';
}

function hopLabel(hop: NextHop): string {
  const host = hop.address.includes(':') ? `[${hop.address}]` : hop.address;
  return `${hop.protocol}:${host}:${hop.port}`;
}

function callEvent(p: {
  key: string;
  time: number;
  role: TracebackRole;
  trunk: TrunkRuntime | undefined;
  flow: Flow;
  req: SipRequest;
  facts: CallFacts;
  bCallId?: string;
  nextHop?: string;
  refused?: TracebackCallEvent['refused'];
}): TracebackCallEvent {
  const cc = p.trunk?.countryCode;
  const calling = callingNumber(p.req);
  const called = calledNumbers(p.req)[0];
  const { signed, verified } = p.facts;
  return {
    kind: 'call',
    key: p.key,
    time: p.time,
    role: p.role,
    trunk: p.trunk?.name ?? '',
    trunkRole: p.trunk?.role ?? 'unmatched',
    customer: p.trunk?.customer,
    source: { address: p.flow.remote.address, port: p.flow.remote.port, transport: p.flow.protocol },
    aCallId: p.req.callId,
    bCallId: p.bCallId,
    nextHop: p.nextHop,
    calling: { received: calling, canonical: canonical(calling, cc) },
    called: { received: called, canonical: canonical(called, cc) },
    ...(signed !== undefined
      ? {
          signed: {
            attest: signed.attest,
            origid: signed.origid,
            iat: signed.iat,
            digest: passportDigest(signed.jws),
          },
        }
      : {}),
    ...(verified !== undefined ? { verified } : {}),
    ...(p.refused !== undefined ? { refused: p.refused } : {}),
  };
}

function canonical(tn: string | undefined, countryCode: string | undefined): string | undefined {
  if (tn === undefined) return undefined;
  return canonicalizeTn(tn, countryCode === undefined ? {} : { countryCode });
}
