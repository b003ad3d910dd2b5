/**
 * SIP messages as the peers of an in-process B2BUA test write them (wire text, CRLF): the caller's INVITE,
 * CANCEL, ACK and in-dialog requests, and any peer's response to a request it received. Built from the
 * parsed request the peer saw, the way a UA builds them (RFC 3261 §8.1.1, §8.2.6, §9.1, §12.2.1, §17.1.1.3).
 */
import type { SipRequest, SipResponse } from '../../src/sip/message/message.js';
import type { Endpoint } from '../../src/sip/transport/types.js';

const CRLF = '\r\n';

function wire(startLine: string, headers: readonly string[], body = ''): string {
  return [startLine, ...headers, `Content-Length: ${Buffer.byteLength(body, 'latin1')}`, '', body].join(CRLF);
}

function hostPort(ep: Endpoint): string {
  return `${ep.address}:${ep.port}`;
}

/** Raw values of every line of a header, in wire order (Via lines are copied, never re-split). */
function lines(m: SipRequest | SipResponse, name: string): string[] {
  return m.headers.filter((h) => h.name === name).map((h) => h.value);
}

export interface CallerInviteOptions {
  /** The caller's own address: Via sent-by and Contact. */
  readonly caller: Endpoint;
  /** Where the INVITE is sent (the B2BUA): the Request-URI's host. */
  readonly to: Endpoint;
  readonly callId?: string;
  readonly branch?: string;
  /** Whole From value without the tag (the tag is `fromTag`). */
  readonly from?: string;
  readonly fromTag?: string;
  /** Called number (Request-URI and To). */
  readonly called?: string;
  readonly seq?: number;
  /** Extra header lines (`Name: value`), written after the mandatory ones in this order. */
  readonly headers?: readonly string[];
  readonly body?: string;
}

let callerCalls = 0;

/** An initial INVITE from the caller (RFC 3261 §8.1.1): no To tag, a fresh Call-ID and branch. */
export function callerInvite(o: CallerInviteOptions): string {
  const n = ++callerCalls;
  const called = o.called ?? '+12025550101';
  const body = o.body ?? '';
  return wire(
    `INVITE sip:${called}@${hostPort(o.to)};user=phone SIP/2.0`,
    [
      `Via: SIP/2.0/UDP ${hostPort(o.caller)};branch=${o.branch ?? `z9hG4bKcaller${n}`};rport`,
      'Max-Forwards: 70',
      `From: ${o.from ?? `<sip:+12025550100@${o.caller.address};user=phone>`};tag=${o.fromTag ?? `caller${n}`}`,
      `To: <sip:${called}@${o.to.address};user=phone>`,
      `Call-ID: ${o.callId ?? `caller-call-${n}@${o.caller.address}`}`,
      `CSeq: ${o.seq ?? 1} INVITE`,
      `Contact: <sip:caller@${hostPort(o.caller)}>`,
      ...(o.headers ?? []),
      ...(body === '' ? [] : ['Content-Type: application/sdp']),
    ],
    body,
  );
}

/** CANCEL of an INVITE we sent (RFC 3261 §9.1): same Request-URI, top Via, From, To, Call-ID and CSeq number. */
export function cancelOf(invite: SipRequest): string {
  return wire(`CANCEL ${invite.uri} SIP/2.0`, [
    `Via: ${lines(invite, 'via')[0]}`,
    'Max-Forwards: 70',
    `From: ${invite.get('from')}`,
    `To: ${invite.get('to')}`,
    `Call-ID: ${invite.callId}`,
    `CSeq: ${invite.cseq.seq} CANCEL`,
  ]);
}

/**
 * ACK of a final response to an INVITE we sent. Non-2xx: part of the INVITE transaction, same branch and
 * Request-URI (RFC 3261 §17.1.1.3). 2xx: its own transaction, sent to the remote target (the response's
 * Contact) with a new branch (§13.2.2.4).
 */
export function ackOf(invite: SipRequest, final: SipResponse, branch?: string): string {
  const is2xx = final.status < 300;
  const via = lines(invite, 'via')[0]!;
  return wire(`ACK ${is2xx ? remoteTarget(final) : invite.uri} SIP/2.0`, [
    `Via: ${is2xx ? via.replace(/branch=[^;]+/, `branch=${branch ?? `${branchOf(via)}ack`}`) : via}`,
    'Max-Forwards: 70',
    `From: ${invite.get('from')}`,
    `To: ${final.get('to')}`,
    `Call-ID: ${invite.callId}`,
    `CSeq: ${invite.cseq.seq} ACK`,
  ]);
}

/**
 * A request inside the dialog an INVITE we sent set up with `final` (RFC 3261 §12.2.1.1): to the remote
 * target, our From, the To with the remote tag, the next CSeq number, a new branch.
 */
export function inDialogRequest(
  method: string,
  invite: SipRequest,
  final: SipResponse,
  opts: { readonly seq: number; readonly branch: string; readonly headers?: readonly string[] },
): string {
  const via = lines(invite, 'via')[0]!;
  return wire(`${method} ${remoteTarget(final)} SIP/2.0`, [
    `Via: ${via.replace(/branch=[^;]+/, `branch=${opts.branch}`)}`,
    'Max-Forwards: 70',
    `From: ${invite.get('from')}`,
    `To: ${final.get('to')}`,
    `Call-ID: ${invite.callId}`,
    `CSeq: ${opts.seq} ${method}`,
    ...(opts.headers ?? []),
  ]);
}

export interface ResponseOptions {
  /** To tag for the dialog this response makes (not on 100, RFC 3261 §8.2.6.2). */
  readonly toTag?: string;
  /** Contact of a 2xx or 18x to an INVITE: where in-dialog requests and the 2xx ACK go. */
  readonly contact?: Endpoint;
  readonly reason?: string;
  readonly headers?: readonly string[];
}

/**
 * A UAS's response to a request it received (RFC 3261 §8.2.6.2): every Via line, From, To (with our tag
 * when the request had none), Call-ID and CSeq copied.
 */
export function responseTo(req: SipRequest, status: number, o: ResponseOptions = {}): string {
  const to = req.get('to')!;
  const tagged =
    status === 100 || o.toTag === undefined || /;\s*tag=/i.test(to) ? to : `${to};tag=${o.toTag}`;
  return wire(`SIP/2.0 ${status} ${o.reason ?? 'Peer'}`, [
    ...lines(req, 'via').map((v) => `Via: ${v}`),
    `From: ${req.get('from')}`,
    `To: ${tagged}`,
    `Call-ID: ${req.callId}`,
    `CSeq: ${req.cseq.seq} ${req.cseq.method}`,
    ...(o.contact === undefined ? [] : [`Contact: <sip:peer@${hostPort(o.contact)}>`]),
    ...(o.headers ?? []),
  ]);
}

function remoteTarget(res: SipResponse): string {
  const c = res.contact[0];
  if (c === undefined) throw new Error(`${res.status} without Contact: no remote target`);
  return c.uri.raw;
}

function branchOf(via: string): string {
  return /branch=([^;]+)/.exec(via)?.[1] ?? 'z9hG4bK';
}
