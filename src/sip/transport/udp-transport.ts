import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { StirgateError } from '../../errors.js';
import type { SipMessage } from '../message/message.js';
import { type MessageLimits, parseMessage } from '../message/parse.js';
import { familyOf, isWildcard, normalizeAddress, stripBrackets, toEndpoint } from './endpoint.js';
import { endpoints, UdpFlowTable } from './endpoint-table.js';
import { deliver, errnoOf, type InboundSink } from './inbound-sink.js';
import type { SendTarget } from './response-target.js';
import { publish } from './transport-events.js';
import { type DatagramSteer, type Endpoint, type Flow, TransportError } from './types.js';

/** SO_RCVBUF / SO_SNDBUF asked for on every UDP socket. */
export const UDP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

/** A cluster worker's own UDP socket (next to a shared one) could not be bound. */
export class OwnPortError extends StirgateError<'own_port_unavailable'> {
  constructor(message: string, options?: { cause?: unknown }) {
    super('own_port_unavailable', message, options);
  }
}

interface UdpListener {
  readonly socket: Socket;
  readonly family: 4 | 6;
  readonly local: Endpoint;
  /** One flow per peer of this socket, shared by every message and transaction (endpoint-table.ts). */
  readonly flows: UdpFlowTable;
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * UDP transport (RFC 3261 §18): one dgram socket per listen address ('udp4' or 'udp6' by family).
 * Each datagram is one message, parsed in datagram mode — octets after Content-Length are ignored
 * (RFC 3261 §18.3, RFC 4475 §3.1.1.8).
 */
export class UdpTransport {
  readonly #limits: MessageLimits;
  readonly #sink: InboundSink;
  readonly #listeners: UdpListener[] = [];
  readonly #shared: boolean;
  readonly #steer: DatagramSteer | undefined;
  readonly #ownPort: number | undefined;
  #closed = false;

  /**
   * `shared`: bind without `exclusive`, so cluster workers share one socket (node:cluster hands every worker
   * the primary's handle; the kernel gives each datagram to one reader). `steer` sees each datagram first
   * and may take it away (to the worker that owns its call). `ownPort` (shared only): the port of this
   * worker's own socket next to each shared one, 0 for an ephemeral one (see `listen`).
   */
  constructor(
    limits: MessageLimits,
    sink: InboundSink,
    opts: { shared?: boolean; steer?: DatagramSteer; ownPort?: number } = {},
  ) {
    this.#limits = limits;
    this.#sink = sink;
    this.#shared = opts.shared === true;
    this.#steer = opts.steer;
    this.#ownPort = this.#shared ? opts.ownPort : undefined;
  }

  get listeners(): readonly Endpoint[] {
    return this.#listeners.map((l) => l.local);
  }

  /** Each socket's address and receive buffer as the kernel set it (overload control reads their backlog). */
  receiveBuffers(): { local: Endpoint; bufferBytes: number }[] {
    const out: { local: Endpoint; bufferBytes: number }[] = [];
    for (const l of this.#listeners) {
      try {
        out.push({ local: l.local, bufferBytes: l.socket.getRecvBufferSize() });
      } catch {
        // A socket closing: nothing to report for it.
      }
    }
    return out;
  }

  /**
   * Bind a socket; resolves with the bound endpoint (the real port when `port` is 0).
   *
   * Shared (cluster worker): the socket is the one every worker reads, and this worker also binds its own
   * socket on the same address (the constructor's `ownPort`). The own socket comes first: requests this worker
   * originates (B-leg) leave from it and name it in Via and Contact, so the peer's responses and in-dialog
   * requests come straight back to this worker instead of to whichever worker reads the shared socket.
   * Responses still leave from the socket their request arrived on (RFC 3581 §4).
   */
  async listen(address: string, port: number): Promise<Endpoint> {
    if (this.#closed) throw new TransportError('no_listener', 'transport is closed');
    const host = stripBrackets(address);
    const family = familyOf(host) ?? 4;
    const shared = await this.#bind(host, port, family, !this.#shared);
    const ownPort = this.#ownPort;
    if (ownPort !== undefined) {
      const own = await this.#bind(host, ownPort, family, true).catch((cause: unknown) => {
        shared.socket.close();
        throw new OwnPortError(
          `cannot bind this worker's UDP port ${host}:${ownPort}: ${(cause as Error).message}`,
          { cause },
        );
      });
      this.#listeners.unshift(own);
    }
    this.#listeners.push(shared);
    return shared.local;
  }

  #bind(host: string, port: number, family: 4 | 6, exclusive: boolean): Promise<UdpListener> {
    // A bursty trunk outruns the kernel's default receive buffer (~208 KiB here) long before the CPU is
    // busy: ask for 4 MiB (the kernel caps it at net.core.rmem_max) so bursts queue instead of dropping.
    const socket = createSocket({
      type: family === 6 ? 'udp6' : 'udp4',
      recvBufferSize: UDP_SOCKET_BUFFER_BYTES,
      sendBufferSize: UDP_SOCKET_BUFFER_BYTES,
    });
    return new Promise<UdpListener>((resolve, reject) => {
      const onBindError = (err: Error): void => {
        socket.close();
        reject(err);
      };
      socket.once('error', onBindError);
      socket.bind({ address: host, port, exclusive }, () => {
        socket.off('error', onBindError);
        // After bind, socket errors are reported and survived (RFC 3261 leaves UDP loss to retransmission).
        socket.on('error', (err) =>
          publish('stirgate:transport:socket_error', { protocol: 'udp', errno: errnoOf(err) }),
        );
        const a = socket.address();
        const local = toEndpoint(a.address, a.port);
        const listener: UdpListener = { socket, family, local, flows: new UdpFlowTable(local) };
        socket.on('message', (msg, rinfo) => this.#onDatagram(listener, msg, rinfo));
        resolve(listener);
      });
    });
  }

  #onDatagram(listener: UdpListener, msg: Buffer, rinfo: RemoteInfo): void {
    const receivedAt = process.hrtime.bigint();
    const first = msg[0];
    if (first === undefined) return;
    // RFC 7983 §7: a first octet 0..3 is STUN. GAP(RFC 5626 §4.4.2): STUN keep-alives are not answered.
    if (first <= 3) {
      publish('stirgate:transport:datagram_dropped', { reason: 'stun' });
      return;
    }
    if ((first === CR || first === LF) && onlyCrlf(msg)) {
      // CRLF keep-alive datagrams (common practice, cf. RFC 5626 §3.5.1 on streams): nothing to answer.
      publish('stirgate:transport:keepalive', { protocol: 'udp', answered: false });
      return;
    }
    const remote = endpoints.endpoint(normalizeAddress(rinfo.address), rinfo.port);
    if (this.#steer?.divert(msg, remote, listener.local) === true) return;
    deliver(this.#sink, this.#parse, msg, listener.flows.flow(remote), receivedAt);
  }

  /**
   * Process a datagram another worker read on our shared socket `local` (see `DatagramSteer`): as if it had
   * arrived here, minus the keep-alive checks the reader already made. False when no listener is `local`.
   */
  receive(local: Endpoint, msg: Buffer, remote: Endpoint): boolean {
    const receivedAt = process.hrtime.bigint();
    const listener = this.#listeners.find(
      (l) => l.local.port === local.port && l.local.address === local.address,
    );
    if (listener === undefined) return false;
    const flow = listener.flows.flow(endpoints.endpoint(remote.address, remote.port));
    deliver(this.#sink, this.#parse, msg, flow, receivedAt);
    return true;
  }

  readonly #parse = (raw: Buffer): SipMessage => parseMessage(raw, this.#limits);

  /**
   * Send one datagram. The socket is `target.local`'s when given (responses leave from where the request
   * arrived, RFC 3581 §4), else the first one of the target's address family.
   */
  send(target: SendTarget, data: Buffer): Promise<Flow> {
    const remoteHost = stripBrackets(target.remote.address);
    const picked = this.#pick(remoteHost, target.local);
    if (picked === undefined) {
      return Promise.reject(
        new TransportError('no_listener', `no UDP socket can reach ${target.remote.address}`),
      );
    }
    const { listener, address } = picked;
    // GAP(RFC 3261 §18.1.1): switching a request over 1300 bytes to TCP is left to the caller (needs a new Via).
    return new Promise<Flow>((resolve, reject) => {
      listener.socket.send(data, target.remote.port, address, (err) => {
        if (err) {
          publish('stirgate:transport:socket_error', { protocol: 'udp', errno: errnoOf(err) });
          reject(
            new TransportError('send_failed', `UDP send to ${address}:${target.remote.port} failed`, {
              cause: err,
            }),
          );
          return;
        }
        resolve(listener.flows.flow(endpoints.endpoint(remoteHost, target.remote.port)));
      });
    });
  }

  #pick(host: string, local: Endpoint | undefined): { listener: UdpListener; address: string } | undefined {
    const family = familyOf(host);
    if (local !== undefined) {
      const l = this.#listeners.find((x) => x.local.port === local.port && x.local.address === local.address);
      if (l !== undefined) {
        if (l.family === family || family === undefined) return { listener: l, address: host };
        if (l.family === 6 && isWildcard(l.local.address)) return { listener: l, address: `::ffff:${host}` };
      }
    }
    const same = this.#listeners.find((x) => family === undefined || x.family === family);
    if (same !== undefined) return { listener: same, address: host };
    // A dual-stack '::' socket reaches IPv4 peers through IPv4-mapped addresses.
    const dual =
      family === 4 ? this.#listeners.find((x) => x.family === 6 && isWildcard(x.local.address)) : undefined;
    return dual === undefined ? undefined : { listener: dual, address: `::ffff:${host}` };
  }

  /** The first bound socket's endpoint of this family (any family when omitted). */
  localEndpoint(family?: 4 | 6): Endpoint | undefined {
    return this.#listeners.find((l) => family === undefined || l.family === family)?.local;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const all = this.#listeners.splice(0);
    await Promise.all(
      all.map(
        (l) =>
          new Promise<void>((resolve) => {
            try {
              l.socket.close(() => resolve());
            } catch {
              resolve(); // already closed
            }
          }),
      ),
    );
  }
}

function onlyCrlf(msg: Buffer): boolean {
  for (let i = 0; i < msg.length; i++) {
    const b = msg[i];
    if (b !== CR && b !== LF) return false;
  }
  return true;
}
