import { SipParseError } from '../message/errors.js';
import type { SipMessage, SipResponse } from '../message/message.js';
import { DEFAULT_MESSAGE_LIMITS, type MessageLimits } from '../message/parse.js';
import { serializeMessage } from '../message/serialize.js';
import type { Via } from '../message/types.js';
import { tallyRequest, tallyResponse, tallySent } from '../message-tally.js';
import type { InboundSink } from './inbound-sink.js';
import { responseTarget, type SendTarget } from './response-target.js';
import { TcpTransport } from './tcp-transport.js';
import {
  type ConnectionCloseReason,
  describeMessage,
  publish,
  traceChannel,
  wants,
} from './transport-events.js';
import {
  type DatagramSteer,
  type Endpoint,
  type Flow,
  type InboundMessage,
  type InboundParseError,
  type ListenSpec,
  type Target,
  TransportError,
  type TransportLimits,
  type TransportProtocol,
} from './types.js';
import { UdpTransport } from './udp-transport.js';
import { stampReceived } from './via-received.js';

export const DEFAULT_TRANSPORT_LIMITS: TransportLimits = Object.freeze({
  maxMessageSize: 65_536,
  maxHeaders: DEFAULT_MESSAGE_LIMITS.maxHeaders,
  maxLineLength: DEFAULT_MESSAGE_LIMITS.maxLineLength,
  tcpMaxConnections: 2048,
  tcpMaxConnectionsPerSource: 100,
  tcpIdleTimeoutMs: 120_000,
  tcpMessageTimeoutMs: 5_000,
  tcpConnectTimeoutMs: 10_000,
});

export type Unsubscribe = () => void;

/** A TCP connection that closed, and why (`peer` and `error`: it went away; the others were our choice). */
export interface ConnectionClosed {
  readonly connectionId: number;
  readonly reason: ConnectionCloseReason;
}

/**
 * The SIP transport layer (RFC 3261 §18): UDP and TCP behind one interface. Inbound requests get their top
 * Via stamped with `received`/`rport` (§18.2.1, RFC 3581 §4) before they are handed up; responses are routed
 * with `responseTarget` (§18.2.2). Observability goes to `stirgate:transport:*` diagnostics channels.
 */
export class TransportLayer {
  readonly limits: TransportLimits;
  readonly #udp: UdpTransport;
  readonly #tcp: TcpTransport;
  readonly #onMessage: ((m: InboundMessage) => void)[] = [];
  readonly #onParseError: ((e: InboundParseError) => void)[] = [];
  readonly #onConnectionClosed: ((closed: ConnectionClosed) => void)[] = [];
  #closing: Promise<void> | undefined;

  /**
   * `opts.shared`, `opts.steer` and `opts.ownUdpPort` are for cluster workers (src/cluster/): sockets shared
   * with the other workers, a steer that hands each UDP datagram to the worker owning its call, and the port
   * of this worker's own UDP socket next to each shared one (0: ephemeral; see UdpTransport.listen).
   */
  constructor(
    limits: Partial<TransportLimits> = {},
    opts: { shared?: boolean; steer?: DatagramSteer; ownUdpPort?: number } = {},
  ) {
    this.limits = Object.freeze(checkLimits({ ...DEFAULT_TRANSPORT_LIMITS, ...limits }));
    const messageLimits: MessageLimits = {
      ...DEFAULT_MESSAGE_LIMITS,
      maxMessageSize: this.limits.maxMessageSize,
      maxHeaders: this.limits.maxHeaders,
      maxLineLength: this.limits.maxLineLength,
    };
    const sink: InboundSink = {
      message: (message, flow, receivedAt, raw) => this.#inbound(message, flow, receivedAt, raw),
      parseError: (error, flow, raw) => this.#parseError(error, flow, raw),
      connectionClosed: (connectionId, reason) => {
        if (this.#onConnectionClosed.length === 0) return;
        const closed: ConnectionClosed = { connectionId, reason };
        for (const cb of this.#onConnectionClosed) guard(cb, closed);
      },
    };
    this.#udp = new UdpTransport(messageLimits, sink, { ...opts, ownPort: opts.ownUdpPort });
    this.#tcp = new TcpTransport(this.limits, messageLimits, sink, opts);
  }

  /** A UDP datagram another cluster worker read on our shared socket `local`; false if no such socket. */
  /** The UDP sockets' addresses and receive buffers (src/app/udp-backlog.ts). */
  udpReceiveBuffers(): { local: Endpoint; bufferBytes: number }[] {
    return this.#udp.receiveBuffers();
  }

  receiveDatagram(local: Endpoint, datagram: Buffer, remote: Endpoint): boolean {
    if (this.#closing !== undefined) return false;
    return this.#udp.receive(local, datagram, remote);
  }

  /** Bind every spec, in order; resolves with the bound endpoints (real ports for port 0). */
  async listen(specs: readonly ListenSpec[]): Promise<Flow['local'][]> {
    if (this.#closing !== undefined) throw new TransportError('no_listener', 'transport layer is closed');
    const bound: Endpoint[] = [];
    for (const spec of specs) {
      const t = this.#transport(spec.protocol);
      bound.push(await t.listen(spec.address, spec.port));
    }
    return bound;
  }

  /** Subscribe to inbound messages (requests already Via-stamped). Returns an unsubscribe function. */
  onMessage(cb: (m: InboundMessage) => void): Unsubscribe {
    return subscribe(this.#onMessage, cb);
  }

  /** Subscribe to messages that could not be parsed (or framed). Returns an unsubscribe function. */
  onParseError(cb: (e: InboundParseError) => void): Unsubscribe {
    return subscribe(this.#onParseError, cb);
  }

  /**
   * Subscribe to TCP connections closing (peer, error, idle timeout or ours): the B2BUA ends the calls whose
   * leg it carried (src/b2bua/call-reaper.ts). Returns an unsubscribe function.
   */
  onConnectionClosed(cb: (closed: ConnectionClosed) => void): Unsubscribe {
    return subscribe(this.#onConnectionClosed, cb);
  }

  /** Where a response goes (RFC 3261 §18.2.2, RFC 3581 §4). See `responseTarget` in response-target.ts. */
  responseTarget(res: SipResponse | Via, requestFlow: Flow): SendTarget {
    return responseTarget(res, requestFlow);
  }

  /**
   * Send a message or pre-serialised bytes. Resolves with the flow used (our local endpoint, the peer,
   * the connection id for TCP); rejects with TransportError (`connect_failed`, `connect_timeout`,
   * `connection_closed`, `send_failed`, `no_listener`).
   */
  async send(target: Target | SendTarget, data: SipMessage | Buffer): Promise<Flow> {
    if (this.#closing !== undefined) throw new TransportError('no_listener', 'transport layer is closed');
    const raw = Buffer.isBuffer(data);
    const bytes = raw ? data : serializeMessage(data);
    const protocol = target.protocol;
    let flow: Flow;
    if (protocol === 'udp') flow = await this.#udp.send(target, bytes);
    else if (protocol === 'tcp') flow = await this.#tcp.send(target, bytes);
    else throw new TransportError('no_listener', `unsupported transport ${String(protocol)}`);
    // Counted in plain numbers for the metrics (src/sip/message-tally.ts); the event only for subscribers.
    tallySent(protocol, bytes.length, raw);
    if (!raw) {
      if (data.isRequest()) tallyRequest('out', protocol, data.method);
      else tallyResponse('out', protocol, (data as SipResponse).status);
    }
    if (wants('stirgate:transport:message_out')) {
      publish('stirgate:transport:message_out', { ...describeMessage(protocol, data), bytes: bytes.length });
    }
    if (traceChannel.hasSubscribers)
      traceChannel.publish({ direction: 'out', protocol, remote: flow.remote, data });
    return flow;
  }

  /**
   * Our address:port for Via sent-by / Contact on this protocol: the first listener of that protocol (and
   * family, when given). A wildcard bind (`0.0.0.0`, `::`) is returned as is — advertise a configured
   * address instead. Throws TransportError `no_listener` when there is none.
   */
  localEndpoint(protocol: TransportProtocol, family?: 4 | 6): Endpoint {
    const e = this.#transport(protocol).localEndpoint(family);
    if (e === undefined) {
      throw new TransportError(
        'no_listener',
        `no ${protocol} listener${family === undefined ? '' : ` for IPv${family}`}`,
      );
    }
    return e;
  }

  /** Whether a TCP connection is still open (a response may go back on it, RFC 3261 §18.2.2). */
  isConnectionOpen(connectionId: number): boolean {
    return this.#tcp.isOpen(connectionId);
  }

  stats(): { tcpConnections: number } {
    return { tcpConnections: this.#tcp.connectionCount };
  }

  /** Close sockets, servers and connections. Idempotent; leaves no handles behind. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([this.#tcp.close(), this.#udp.close()]).then(() => undefined);
    return this.#closing;
  }

  #transport(protocol: TransportProtocol): UdpTransport | TcpTransport {
    if (protocol === 'udp') return this.#udp;
    if (protocol === 'tcp') return this.#tcp;
    throw new TransportError('no_listener', `unsupported transport ${String(protocol)}`);
  }

  #inbound(message: SipMessage, flow: Flow, receivedAt: bigint, raw: Buffer): void {
    if (message.isRequest()) {
      try {
        stampReceived(message, flow.remote);
      } catch (err) {
        // A top Via the parser let through but that cannot be read: a parse failure like any other.
        if (err instanceof SipParseError) {
          err.partial ??= message;
          this.#parseError(err, flow, raw);
        } else {
          publish('stirgate:transport:handler_error', { error: err });
        }
        return;
      }
      tallyRequest('in', flow.protocol, message.method);
    } else tallyResponse('in', flow.protocol, (message as SipResponse).status);
    if (wants('stirgate:transport:message_in')) {
      publish('stirgate:transport:message_in', describeMessage(flow.protocol, message));
    }
    if (traceChannel.hasSubscribers) {
      traceChannel.publish({ direction: 'in', protocol: flow.protocol, remote: flow.remote, data: raw });
    }
    const event: InboundMessage = { message, flow, receivedAt };
    for (const cb of this.#onMessage) guard(cb, event);
  }

  #parseError(error: SipParseError, flow: Flow, raw: Buffer): void {
    publish('stirgate:transport:parse_error', { protocol: flow.protocol, code: error.code });
    // RFC 3261 §18.2.1 / RFC 3581 §4 hold for a request we refuse too: stamp received/rport on the partial
    // message, so a stateless 400/505 goes back to the source, not to the Via's (maybe bogus) host.
    const partial = error.partial;
    if (partial?.isRequest()) {
      try {
        stampReceived(partial, flow.remote);
      } catch {
        // top Via unparseable: the responder falls back to the source address
      }
    }
    const event: InboundParseError = { error, flow, raw };
    for (const cb of this.#onParseError) guard(cb, event);
  }
}

function subscribe<T>(list: T[], cb: T): Unsubscribe {
  list.push(cb);
  return () => {
    const i = list.indexOf(cb);
    if (i >= 0) list.splice(i, 1);
  };
}

/** A throwing handler must not unwind into a socket callback (that would crash the process). */
function guard<T>(cb: (e: T) => void, event: T): void {
  try {
    cb(event);
  } catch (error) {
    publish('stirgate:transport:handler_error', { error });
  }
}

function checkLimits(l: TransportLimits): TransportLimits {
  for (const [key, value] of Object.entries(l)) {
    const min = key === 'tcpIdleTimeoutMs' ? 0 : 1;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      throw new RangeError(`transport limit ${key} must be an integer >= ${min}, got ${String(value)}`);
    }
  }
  return l;
}
