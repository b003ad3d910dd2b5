import { createServer, type Server, Socket } from 'node:net';
import { SipParseError } from '../message/errors.js';
import type { SipMessage } from '../message/message.js';
import { type MessageLimits, parseMessage, readableMessage } from '../message/parse.js';
import { endpointKey, familyOf, isWildcard, stripBrackets, toEndpoint } from './endpoint.js';
import { deliver, errnoOf, type InboundSink } from './inbound-sink.js';
import { TcpConnection } from './tcp-connection.js';
import { type ConnectionCloseReason, type ConnectionRefusedReason, publish } from './transport-events.js';
import { type Endpoint, type Flow, type Target, TransportError, type TransportLimits } from './types.js';

interface TcpListener {
  readonly server: Server;
  readonly family: 4 | 6;
  readonly local: Endpoint;
}

/** RFC 5626 §3.5.1: the pong answering a CRLFCRLF ping. */
const PONG = Buffer.from('\r\n', 'latin1');
/** Unsent bytes allowed to pile up for a peer that does not read, in messages of maxMessageSize. */
const WRITE_BACKLOG_MESSAGES = 16;
/** After a framing error: how long the answer (400/513) may take to reach the peer before the socket is destroyed. */
const ANSWER_LINGER_MS = 1000;

/**
 * TCP transport (RFC 3261 §18): listening servers, accepted and outbound connections indexed by id and
 * by remote `addr:port`, Content-Length framing, idle timeout, connection cap, connect timeout.
 * Peer misbehaviour (resets, half-closes, broken framing) closes that connection and never throws.
 *
 * Abuse bounds: a connection cap per source address (floods from one host), and a deadline for each message
 * counted from its first octet (slowloris: a byte now and then resets the idle timer but not this one).
 * A stream that can no longer be framed gets its answer (513, 400) before the close when it was a request.
 */
export class TcpTransport {
  readonly #limits: TransportLimits;
  readonly #messageLimits: MessageLimits;
  readonly #sink: InboundSink;
  readonly #shared: boolean;
  readonly #listeners: TcpListener[] = [];
  readonly #byId = new Map<number, TcpConnection>();
  readonly #byRemote = new Map<string, TcpConnection>();
  /** Inbound connections per remote address (`tcpMaxConnectionsPerSource`). */
  readonly #perSource = new Map<string, number>();
  #inbound = 0;
  #nextId = 1;
  #closed = false;

  /**
   * `shared`: listen without `exclusive`, so cluster workers share the listening socket (node:cluster's primary
   * accepts and hands each connection to one worker, which then owns every message on it).
   */
  constructor(
    limits: TransportLimits,
    messageLimits: MessageLimits,
    sink: InboundSink,
    opts: { shared?: boolean } = {},
  ) {
    this.#limits = limits;
    this.#messageLimits = messageLimits;
    this.#sink = sink;
    this.#shared = opts.shared === true;
  }

  get listeners(): readonly Endpoint[] {
    return this.#listeners.map((l) => l.local);
  }

  /** Open connections (inbound and outbound, including ones still connecting). */
  get connectionCount(): number {
    return this.#byId.size;
  }

  isOpen(connectionId: number): boolean {
    return this.#byId.get(connectionId)?.state === 'open';
  }

  /** The connection's flow, if it is open. */
  flowOf(connectionId: number): Flow | undefined {
    const c = this.#byId.get(connectionId);
    return c?.state === 'open' ? c.flow : undefined;
  }

  listen(address: string, port: number): Promise<Endpoint> {
    if (this.#closed) return Promise.reject(new TransportError('no_listener', 'transport is closed'));
    const host = stripBrackets(address);
    const family = familyOf(host) ?? 4;
    const server = createServer({ noDelay: true });
    return new Promise<Endpoint>((resolve, reject) => {
      const onListenError = (err: Error): void => {
        server.close();
        reject(err);
      };
      server.once('error', onListenError);
      server.listen({ host, port, exclusive: !this.#shared }, () => {
        server.off('error', onListenError);
        // EMFILE/ENFILE on accept and the like: report and keep serving.
        server.on('error', (err) =>
          publish('stirgate:transport:socket_error', { protocol: 'tcp', errno: errnoOf(err) }),
        );
        server.on('connection', (socket) => this.#accept(socket));
        const a = server.address();
        const local =
          a !== null && typeof a === 'object' ? toEndpoint(a.address, a.port) : toEndpoint(host, port);
        this.#listeners.push({ server, family, local });
        resolve(local);
      });
    });
  }

  localEndpoint(family?: 4 | 6): Endpoint | undefined {
    return this.#listeners.find((l) => family === undefined || l.family === family)?.local;
  }

  #accept(socket: Socket): void {
    socket.on('error', ignore); // replaced below once the connection exists; a refused socket may still error
    const remote = toEndpoint(socket.remoteAddress, socket.remotePort);
    const fromSource = this.#perSource.get(remote.address) ?? 0;
    const refused: ConnectionRefusedReason | undefined = this.#closed
      ? 'closing'
      : this.#inbound >= this.#limits.tcpMaxConnections
        ? 'limit'
        : fromSource >= this.#limits.tcpMaxConnectionsPerSource
          ? 'source_limit'
          : undefined;
    if (refused !== undefined) {
      publish('stirgate:transport:connection_refused', { remote, reason: refused });
      socket.destroy();
      return;
    }
    socket.off('error', ignore);
    const local = toEndpoint(socket.localAddress, socket.localPort);
    const conn = new TcpConnection(this.#nextId++, 'inbound', socket, local, remote, this.#messageLimits);
    this.#inbound++;
    this.#perSource.set(remote.address, fromSource + 1);
    this.#register(conn, endpointKey(remote.address, remote.port));
    this.#wire(conn);
    this.#opened(conn);
  }

  /** Handlers every connection gets, from its first moment. */
  #wire(conn: TcpConnection): void {
    const socket = conn.socket;
    socket.on('error', (err) => {
      conn.closeReason ??= 'error';
      publish('stirgate:transport:socket_error', { protocol: 'tcp', errno: errnoOf(err) });
    });
    socket.on('end', () => {
      conn.closeReason ??= 'peer'; // half-close: allowHalfOpen is off, so Node ends our side too
    });
    socket.on('timeout', () => this.#destroy(conn, 'idle'));
    socket.on('data', (chunk: Buffer) => this.#onData(conn, chunk));
    socket.on('close', () => this.#onClose(conn));
    conn.framerSink = {
      frame: (frame) => {
        if (conn.messageDeadline !== undefined) {
          clearTimeout(conn.messageDeadline);
          conn.messageDeadline = undefined;
        }
        deliver(this.#sink, this.#parse, frame, conn.flow, conn.receivedAt);
        return conn.state === 'open';
      },
      ping: () => {
        publish('stirgate:transport:keepalive', { protocol: 'tcp', answered: true });
        if (conn.state === 'open') conn.socket.write(PONG);
      },
    };
  }

  #opened(conn: TcpConnection): void {
    conn.state = 'open';
    if (this.#limits.tcpIdleTimeoutMs > 0) conn.socket.setTimeout(this.#limits.tcpIdleTimeoutMs);
    publish('stirgate:transport:connection_open', {
      id: conn.id,
      direction: conn.direction,
      remote: conn.remote,
    });
  }

  #onData(conn: TcpConnection, chunk: Buffer): void {
    if (conn.state !== 'open') return;
    conn.receivedAt = process.hrtime.bigint();
    try {
      conn.framer.push(chunk, conn.framerSink);
    } catch (err) {
      this.#framingFailed(conn, err);
      return;
    }
    // A message begun and not finished: it has tcpMessageTimeoutMs from its first octet, however it trickles.
    if (conn.messageDeadline === undefined && conn.state === 'open' && conn.framer.pendingBytes > 0) {
      conn.messageDeadline = setTimeout(this.#tooSlow, this.#limits.tcpMessageTimeoutMs, conn);
    }
  }

  readonly #tooSlow = (conn: TcpConnection): void => {
    conn.messageDeadline = undefined;
    this.#destroy(conn, 'slow');
  };

  /**
   * The stream can no longer be split into messages (RFC 3261 §18.3): report it with what can be read of the
   * request, so the transaction layer answers it (513 too large, 400 otherwise; §8.2.6, §21.5.11), then
   * close once that answer is written. Octets still arriving meanwhile are read and dropped: leaving them
   * unread would make the close a reset, which can destroy the answer before the peer reads it.
   */
  #framingFailed(conn: TcpConnection, err: unknown): void {
    if (!(err instanceof SipParseError)) {
      publish('stirgate:transport:handler_error', { error: err });
      this.#destroy(conn, 'framing');
      return;
    }
    const raw = conn.framer.pending();
    err.partial ??= readableMessage(raw, this.#messageLimits);
    this.#sink.parseError(err, conn.flow, raw); // the answer, if any, is queued on the socket synchronously
    if (conn.state === 'closed') return;
    conn.closeReason ??= 'framing';
    conn.state = 'closed';
    this.#clearDeadline(conn);
    conn.framer.reset();
    conn.socket.end();
    setTimeout(() => conn.socket.destroy(), ANSWER_LINGER_MS).unref();
  }

  #clearDeadline(conn: TcpConnection): void {
    if (conn.messageDeadline === undefined) return;
    clearTimeout(conn.messageDeadline);
    conn.messageDeadline = undefined;
  }

  readonly #parse = (raw: Buffer): SipMessage => parseMessage(raw, this.#messageLimits, { stream: true });

  #onClose(conn: TcpConnection): void {
    if (conn.state === 'closed' && !this.#byId.has(conn.id)) return;
    conn.state = 'closed';
    conn.framer.reset();
    this.#clearDeadline(conn);
    this.#byId.delete(conn.id);
    for (const k of conn.keys) if (this.#byRemote.get(k) === conn) this.#byRemote.delete(k);
    if (conn.direction === 'inbound') {
      this.#inbound--;
      const left = (this.#perSource.get(conn.remote.address) ?? 1) - 1;
      if (left > 0) this.#perSource.set(conn.remote.address, left);
      else this.#perSource.delete(conn.remote.address);
    }
    publish('stirgate:transport:connection_close', {
      id: conn.id,
      direction: conn.direction,
      remote: conn.remote,
      reason: conn.closeReason ?? 'peer',
    });
    this.#sink.connectionClosed(conn.id, conn.closeReason ?? 'peer');
  }

  #destroy(conn: TcpConnection, reason: ConnectionCloseReason): void {
    if (conn.state === 'closed') return;
    conn.closeReason ??= reason;
    conn.state = 'closed';
    this.#clearDeadline(conn);
    conn.socket.destroy();
  }

  #register(conn: TcpConnection, key: string): void {
    this.#byId.set(conn.id, conn);
    this.#addKey(conn, key);
  }

  #addKey(conn: TcpConnection, key: string): void {
    if (!conn.keys.includes(key)) conn.keys.push(key);
    this.#byRemote.set(key, conn);
  }

  /**
   * Send on `target.connectionId` if that connection is open, else on an open (or opening) connection to
   * `target.remote`, else open one. Writes made while connecting wait for the connection, in order.
   * GAP(RFC 5923): an inbound connection is only reused for requests to its exact source addr:port
   * (no `alias` Via parameter handling).
   */
  async send(target: Target, data: Buffer): Promise<Flow> {
    if (this.#closed) throw new TransportError('no_listener', 'transport is closed');
    let conn = target.connectionId === undefined ? undefined : this.#byId.get(target.connectionId);
    if (conn === undefined || conn.state === 'closed') {
      conn = this.#byRemote.get(endpointKey(target.remote.address, target.remote.port));
      if (conn?.state === 'closed') conn = undefined;
    }
    conn ??= this.#connect(target.remote);
    if (conn.state === 'connecting') await conn.ready;
    return this.#write(conn, data);
  }

  #write(conn: TcpConnection, data: Buffer): Promise<Flow> {
    if (conn.state !== 'open') {
      return Promise.reject(new TransportError('connection_closed', `connection ${conn.id} is closed`));
    }
    if (conn.socket.writableLength > WRITE_BACKLOG_MESSAGES * this.#limits.maxMessageSize) {
      // The peer stopped reading; holding more would let it pin our memory.
      this.#destroy(conn, 'backpressure');
      return Promise.reject(new TransportError('send_failed', `connection ${conn.id} is not draining`));
    }
    const flow = conn.flow;
    return new Promise<Flow>((resolve, reject) => {
      conn.socket.write(data, (err) => {
        if (!err) resolve(flow);
        else
          reject(
            new TransportError(
              conn.state === 'closed' ? 'connection_closed' : 'send_failed',
              `write on connection ${conn.id} failed`,
              { cause: err },
            ),
          );
      });
    });
  }

  #connect(remote: Endpoint): TcpConnection {
    const host = stripBrackets(remote.address);
    const family = familyOf(host);
    const socket = new Socket();
    const conn = new TcpConnection(
      this.#nextId++,
      'outbound',
      socket,
      { address: '', port: 0 },
      remote,
      this.#messageLimits,
    );
    this.#register(conn, endpointKey(host, remote.port));
    this.#wire(conn);
    conn.ready = new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (err: TransportError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#destroy(conn, 'error');
        reject(err);
      };
      // RFC 3261 §17.1.4 reports transport failures to the transaction user; the timer bounds the wait.
      const timer = setTimeout(
        () =>
          fail(
            new TransportError(
              'connect_timeout',
              `TCP connect to ${host}:${remote.port} timed out after ${this.#limits.tcpConnectTimeoutMs} ms`,
            ),
          ),
        this.#limits.tcpConnectTimeoutMs,
      );
      socket.once('error', (err) => {
        fail(
          new TransportError('connect_failed', `TCP connect to ${host}:${remote.port} failed`, {
            cause: err,
          }),
        );
      });
      socket.once('close', () => {
        fail(
          new TransportError(
            'connection_closed',
            `connection to ${host}:${remote.port} closed while connecting`,
          ),
        );
      });
      socket.once('connect', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const local = toEndpoint(socket.localAddress, socket.localPort);
        const actual = toEndpoint(socket.remoteAddress, socket.remotePort);
        conn.flow = { protocol: 'tcp', local, remote: actual, connectionId: conn.id };
        this.#addKey(conn, endpointKey(actual.address, actual.port));
        this.#opened(conn);
        resolve();
      });
    });
    conn.ready.catch(ignore); // a failure is seen by the senders awaiting it; never unhandled
    const bind = this.#sourceAddress(family);
    // GAP(RFC 3263): host names are resolved by the OS resolver (A/AAAA), not by NAPTR/SRV.
    socket.connect({ host, port: remote.port, ...(bind === undefined ? {} : { localAddress: bind }) });
    socket.setNoDelay(true);
    return conn;
  }

  /**
   * Source address for outbound connections: our listener's when it is bound to one specific, non-loopback
   * address (multi-homed hosts: the peer sees the address we advertise). Otherwise the kernel chooses.
   */
  #sourceAddress(family: 4 | 6 | undefined): string | undefined {
    const l = this.#listeners.find((x) => x.family === (family ?? 4));
    if (l === undefined || isWildcard(l.local.address) || isLoopback(l.local.address)) return undefined;
    return l.local.address;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const conn of [...this.#byId.values()]) {
      this.#destroy(conn, 'local');
      conn.socket.destroy(); // also the ones still lingering after a framing error's answer
    }
    const servers = this.#listeners.splice(0);
    await Promise.all(servers.map((l) => new Promise<void>((resolve) => l.server.close(() => resolve()))));
  }
}

function ignore(): void {}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}
