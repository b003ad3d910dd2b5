import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { type ClusterDatagramEvent, clusterChannels } from '../events.js';
import { errnoOf } from '../sip/transport/inbound-sink.js';
import { publish } from '../sip/transport/transport-events.js';
import type { DatagramSteer, Endpoint } from '../sip/transport/types.js';
import { ownerOfDatagram } from './call-id-owner.js';
import { decodeForward, forwardHeader, maxForwardable } from './forward-codec.js';

const LOOPBACK = '127.0.0.1';

/** Where forwarded datagrams are delivered in the owning worker (TransportLayer.receiveDatagram). */
export type ForwardedSink = (local: Endpoint, datagram: Buffer, remote: Endpoint) => void;

function count(outcome: ClusterDatagramEvent['outcome']): void {
  if (clusterChannels.datagram.hasSubscribers) clusterChannels.datagram.publish({ outcome });
}

/**
 * A worker's side of UDP steering. Every worker reads the one shared SIP socket, and the kernel gives each
 * datagram to whichever worker reads first; `divert` sends a datagram whose Call-ID another worker owns to
 * that worker's forwarding socket (loopback UDP, its own port), wrapped with the peer's address and the
 * SIP socket it came in on (forward-codec.ts). The owner processes it as if it had read it, and answers from
 * the shared SIP socket, so the peer sees one address and port (RFC 3581 §4 symmetric response).
 *
 * Loopback datagrams on the forwarding socket without the cluster token are dropped: another local process
 * cannot inject SIP with a forged source address.
 */
export class DatagramSteering implements DatagramSteer {
  readonly index: number;
  readonly workers: number;
  readonly #token: Buffer;
  readonly #socket: Socket;
  #peers: readonly number[];
  #sink: ForwardedSink | undefined;

  private constructor(index: number, workers: number, token: Buffer, socket: Socket) {
    this.index = index;
    this.workers = workers;
    this.#token = token;
    this.#socket = socket;
    this.#peers = new Array<number>(workers).fill(0);
    socket.on('message', (buf, rinfo) => this.#onForwarded(buf, rinfo));
    // Survived and reported like the SIP sockets' errors (a lost hand-over is a lost datagram: UDP retransmits).
    socket.on('error', (err) =>
      publish('stirgate:transport:socket_error', { protocol: 'udp', errno: errnoOf(err) }),
    );
  }

  /** Bind this worker's forwarding socket on loopback (an ephemeral port, not shared with other workers). */
  static async open(index: number, workers: number, token: Buffer): Promise<DatagramSteering> {
    const socket = createSocket({
      type: 'udp4',
      recvBufferSize: 4 * 1024 * 1024,
      sendBufferSize: 4 * 1024 * 1024,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // exclusive: in a cluster worker a non-exclusive bind would share the primary's socket instead.
      socket.bind({ address: LOOPBACK, port: 0, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new DatagramSteering(index, workers, token, socket);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** Forwarding ports by worker index, from the primary (0: that worker is starting). */
  setPeers(ports: readonly number[]): void {
    this.#peers = ports.slice(0, this.workers);
  }

  /** Where forwarded datagrams go; set once the transport exists. */
  attach(sink: ForwardedSink): void {
    this.#sink = sink;
  }

  divert(datagram: Buffer, remote: Endpoint, local: Endpoint): boolean {
    const owner = ownerOfDatagram(datagram, this.workers);
    if (owner < 0 || owner === this.index) return false;
    const port = this.#peers[owner] ?? 0;
    if (port === 0) {
      // The owner is restarting: its calls are gone with it, and a new call must start where its later
      // messages will go. Dropped; the peer's retransmission (RFC 3261 §17) arrives once it is back.
      count('owner_unavailable');
      return true;
    }
    if (datagram.length > maxForwardable(remote, local)) {
      count('too_large');
      return false; // handled here: better than losing it
    }
    this.#socket.send([forwardHeader(this.#token, remote, local), datagram], port, LOOPBACK);
    count('forwarded');
    return true;
  }

  #onForwarded(buf: Buffer, rinfo: RemoteInfo): void {
    const f = rinfo.address === LOOPBACK ? decodeForward(this.#token, buf) : undefined;
    if (f === undefined || this.#sink === undefined) {
      count('rejected');
      return;
    }
    count('received');
    this.#sink(f.local, f.datagram, f.remote);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      try {
        this.#socket.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }
}
