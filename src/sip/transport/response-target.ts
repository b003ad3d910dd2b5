import type { SipResponse } from '../message/message.js';
import type { Via } from '../message/types.js';
import { stripBrackets } from './endpoint.js';
import { endpoints } from './endpoint-table.js';
import type { Endpoint, Flow, Target } from './types.js';

/** RFC 3261 §19.1.2: default port for sip: over UDP and TCP. */
export const DEFAULT_SIP_PORT = 5060;

/**
 * A Target that may also name the local socket to send from. For UDP this keeps a response leaving from
 * the socket the request arrived on (RFC 3581 §4: the source of the response must be where the request
 * was sent, or NATs drop it). Assignable to `Target`.
 */
export interface SendTarget extends Target {
  readonly local?: Endpoint;
}

/**
 * Where to send a response (RFC 3261 §18.2.2, RFC 3581 §4), from the response's top Via (or that Via) and
 * the flow the request arrived on.
 *
 * - TCP: the request's connection (`connectionId`); `send()` falls back to `remote` — the `received`
 *   address (else the sent-by host) and the sent-by port (else 5060) — when that connection has closed.
 * - UDP: `received` (else the sent-by host) and `rport` when it has a value, else the sent-by port
 *   (else 5060); sent from the socket the request arrived on.
 */
export function responseTarget(resOrVia: SipResponse | Via, requestFlow: Flow): SendTarget {
  const via = isVia(resOrVia) ? resOrVia : resOrVia.topVia;
  if (via === undefined) {
    // No Via to route on (not a response we built): answer the peer we heard from.
    return targetFromFlow(requestFlow);
  }
  // GAP(RFC 3261 §18.2.2): maddr (multicast responses) is ignored; the response goes to received/sent-by.
  const address = stripBrackets(via.received ?? via.host);
  if (requestFlow.protocol === 'tcp') {
    return {
      protocol: 'tcp',
      remote: endpoints.endpoint(address, via.port ?? DEFAULT_SIP_PORT),
      ...(requestFlow.connectionId === undefined ? {} : { connectionId: requestFlow.connectionId }),
    };
  }
  const port = typeof via.rport === 'number' ? via.rport : (via.port ?? DEFAULT_SIP_PORT);
  // The usual case, received= and rport= naming the peer we heard from: the flow itself is the target
  // (shared per peer, endpoint-table.ts), nothing to build or keep per transaction.
  if (requestFlow.remote.port === port && requestFlow.remote.address === address) return requestFlow;
  return { protocol: 'udp', remote: endpoints.endpoint(address, port), local: requestFlow.local };
}

function targetFromFlow(flow: Flow): SendTarget {
  return flow.protocol === 'tcp'
    ? {
        protocol: 'tcp',
        remote: flow.remote,
        ...(flow.connectionId === undefined ? {} : { connectionId: flow.connectionId }),
      }
    : { protocol: 'udp', remote: flow.remote, local: flow.local };
}

function isVia(x: SipResponse | Via): x is Via {
  return (x as Via).transport !== undefined && (x as Via).params instanceof Map;
}
