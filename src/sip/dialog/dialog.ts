import { detach, detachMaybe } from '../message/detach.js';
import { SipRequest, type SipResponse } from '../message/message.js';
import type { Uri } from '../message/types.js';
import { endpoints } from '../transport/endpoint-table.js';
import type { Target, TransportProtocol } from '../transport/types.js';

/**
 * One side of a dialog (RFC 3261 §12): the identifiers, the sequence spaces, the remote target and the
 * route set. A B2BUA holds two of these per call: the A-leg as UAS, the B-leg as UAC.
 */
export interface DialogInit {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string | undefined;
  /** From (UAC) or To (UAS) header value without tag: our identity on this leg. */
  readonly localUri: string;
  readonly remoteUri: string;
  readonly localSeq: number;
  readonly remoteSeq: number | undefined;
  /** Contact URI text of the peer (RFC 3261 §12.1.1). */
  readonly remoteTarget: string;
  /** Record-Route values in the order requests must carry them (RFC 3261 §12.1.1 / §12.1.2). */
  readonly routeSet: readonly string[];
  /**
   * Our Contact header value on this leg. Built by us, not cut from a message, so it is kept as given (not
   * detached): the B2BUA passes one string per listening endpoint to every dialog.
   */
  readonly localContact: string;
  /** Where in-dialog requests go when the route set and target cannot be resolved (the flow we saw). */
  readonly fallback: Target;
}

/** The route set of a dialog without Record-Route: one shared empty list (each call holds two dialogs). */
const NO_ROUTES: readonly string[] = Object.freeze([]);

export class Dialog {
  readonly callId: string;
  readonly localTag: string;
  remoteTag: string | undefined;
  /** Mutable until the first request goes out: a hook may mark the From (verstat) of the initial INVITE. */
  localUri: string;
  readonly remoteUri: string;
  localSeq: number;
  remoteSeq: number | undefined;
  remoteTarget: string;
  routeSet: readonly string[];
  readonly localContact: string;
  fallback: Target;

  constructor(init: DialogInit) {
    this.callId = detach(init.callId);
    this.localTag = detach(init.localTag);
    this.remoteTag = detachMaybe(init.remoteTag);
    this.localUri = detach(init.localUri);
    this.remoteUri = detach(init.remoteUri);
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.remoteTarget = detach(init.remoteTarget);
    this.routeSet = init.routeSet.length === 0 ? NO_ROUTES : init.routeSet.map(detach);
    // Built by the B2BUA, not cut from a message: kept as given, so every dialog can share one string.
    this.localContact = init.localContact;
    this.fallback = init.fallback;
  }

  /**
   * Build an in-dialog request (RFC 3261 §12.2.1.1). CSeq increments for everything but ACK and CANCEL,
   * which reuse the INVITE's number (pass `cseq`). Loose routing only.
   */
  createRequest(method: string, opts: { cseq?: number; maxForwards?: number } = {}): SipRequest {
    let seq = opts.cseq;
    if (seq === undefined) {
      this.localSeq += 1;
      seq = this.localSeq;
    }
    // GAP(RFC 3261 §12.2.1.1): strict routing (a route set whose first URI lacks ;lr) is not supported.
    const req = new SipRequest(method, this.remoteTarget);
    for (const r of this.routeSet) req.append('route', r);
    req.append('max-forwards', String(opts.maxForwards ?? 70));
    req.append('from', `${this.localUri};tag=${this.localTag}`);
    req.append(
      'to',
      this.remoteTag === undefined ? this.remoteUri : `${this.remoteUri};tag=${this.remoteTag}`,
    );
    req.append('call-id', this.callId);
    req.append('cseq', `${seq} ${method}`);
    req.append('contact', this.localContact);
    return req;
  }

  /**
   * Update target and route set from a response on a UAC leg (RFC 3261 §12.1.2, §12.2.1.2):
   * the remote tag from To, the target from Contact, the route set from Record-Route reversed.
   */
  updateFromResponse(res: SipResponse): void {
    const tag = res.to.tag;
    if (tag !== undefined && tag !== this.remoteTag) this.remoteTag = detach(tag);
    const contact = res.contact[0];
    if (contact !== undefined && contact.uri.raw !== this.remoteTarget)
      this.remoteTarget = detach(contact.uri.raw);
    // RFC 3261 §12.1.2: the route set is fixed when the dialog is established; refresh on early->confirmed.
    const rr = res.getAll('record-route');
    if (rr.length > 0) this.routeSet = rr.reverse().map(detach);
  }

  /** Refresh the remote target from a target-refresh request (re-INVITE, UPDATE) (RFC 3261 §12.2.2). */
  updateFromRequest(req: SipRequest): void {
    const contact = req.contact[0];
    if (contact !== undefined && contact.uri.raw !== this.remoteTarget)
      this.remoteTarget = detach(contact.uri.raw);
  }

  /**
   * Where the next in-dialog request goes: the first Route URI, else the remote target; transport from
   * `;transport=` or the leg's protocol (RFC 3263 resolution is limited to IP literals: GAP below).
   */
  nextHop(): Target {
    const first = this.routeSet[0];
    const uriText = first !== undefined ? stripAngle(first) : this.remoteTarget;
    return targetFromUriText(uriText, this.fallback);
  }
}

function stripAngle(nameAddr: string): string {
  const lt = nameAddr.indexOf('<');
  const gt = nameAddr.indexOf('>', lt + 1);
  return lt >= 0 && gt > lt ? nameAddr.slice(lt + 1, gt) : nameAddr;
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * Resolve a SIP URI to a transport target. Only IP literals are resolved; a host name falls back to the
 * flow the leg was seen on.
 * GAP(RFC 3263 §4): no NAPTR/SRV/A lookups for host names in in-dialog targets.
 */
export function targetFromUriText(uriText: string, fallback: Target): Target {
  const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;?>]+)(?::(\d+))?([^?>]*)/i.exec(uriText.trim());
  if (m === null) return fallback;
  const hostRaw = m[1]!;
  const host = hostRaw.startsWith('[') ? hostRaw.slice(1, -1) : hostRaw;
  if (!IPV4.test(host) && !host.includes(':')) return fallback;
  const params = (m[3] ?? '').toLowerCase();
  const tp = /;transport=(udp|tcp)/.exec(params)?.[1] as TransportProtocol | undefined;
  const protocol = tp ?? fallback.protocol;
  const port = m[2] !== undefined ? Number.parseInt(m[2], 10) : 5060;
  const sameRemote =
    fallback.remote.address === host && fallback.remote.port === port && fallback.protocol === protocol;
  return {
    protocol,
    remote: endpoints.endpoint(host, port),
    ...(sameRemote && fallback.connectionId !== undefined ? { connectionId: fallback.connectionId } : {}),
  };
}

/** The URI text without header params, for use as a dialog local/remote URI. */
export function uriOnly(nameAddrValue: string): string {
  // Strip header parameters after the closing '>' (tag among them); keep display name and <uri>.
  const gt = nameAddrValue.lastIndexOf('>');
  if (gt >= 0) return nameAddrValue.slice(0, gt + 1);
  const semi = nameAddrValue.indexOf(';');
  return semi >= 0 ? nameAddrValue.slice(0, semi) : nameAddrValue;
}

export type { Uri };
