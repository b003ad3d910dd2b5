import { detach } from '../message/detach.js';
import type { Endpoint, Flow } from './types.js';

/**
 * One shared `Endpoint` (read-only by type) per peer address and port, and one UDP `Flow` per (local socket, peer).
 *
 * Every transaction keeps the flow its request came on and the target its responses go to until its wait
 * state ends (RFC 3261 Timers J, K; RFC 6026 Timers L, M: up to 64*T1 = 32 s). Built per datagram, that was
 * seven small objects and four copies of the peer's address string per call, kept for 32 s by ~30,000
 * ended calls at 900 calls/s. A carrier element talks to a few hundred peers, so it shares them instead.
 *
 * Bounded: past `max` peers (a scan, a spoofed-source flood) the table starts over, so it never holds more
 * than `max` entries; objects already handed out stay valid (nothing compares them by identity).
 */
export class EndpointTable {
  readonly #max: number;
  readonly #byAddress = new Map<string, Map<number, Endpoint>>();
  #size = 0;

  constructor(max = 4096) {
    this.#max = max;
  }

  /** The shared endpoint for `address` (already normalized, no brackets) and `port`. */
  endpoint(address: string, port: number): Endpoint {
    const ports = this.#byAddress.get(address);
    return ports?.get(port) ?? this.#add(address, port, ports);
  }

  #add(address: string, port: number, known: Map<number, Endpoint> | undefined): Endpoint {
    let ports = known;
    if (this.#size >= this.#max) {
      this.clear();
      ports = undefined;
    }
    let own: string;
    if (ports === undefined) {
      // The address may be sliced from a message's text (a Via's received=): keep a copy of its own.
      own = detach(address);
      ports = new Map();
      this.#byAddress.set(own, ports);
    } else {
      // Every endpoint of one address shares the first one's string.
      own = (ports.values().next().value as Endpoint).address;
    }
    const e: Endpoint = { address: own, port };
    ports.set(port, e);
    this.#size++;
    return e;
  }

  /** Endpoints held. */
  get size(): number {
    return this.#size;
  }

  clear(): void {
    this.#byAddress.clear();
    this.#size = 0;
  }
}

/** The UDP flows of one local socket, one per peer endpoint (keys: endpoints from one `EndpointTable`). */
export class UdpFlowTable {
  readonly #local: Endpoint;
  readonly #max: number;
  readonly #flows = new Map<Endpoint, Flow>();

  constructor(local: Endpoint, max = 4096) {
    this.#local = local;
    this.#max = max;
  }

  flow(remote: Endpoint): Flow {
    let f = this.#flows.get(remote);
    if (f === undefined) {
      if (this.#flows.size >= this.#max) this.#flows.clear();
      f = { protocol: 'udp', local: this.#local, remote };
      this.#flows.set(remote, f);
    }
    return f;
  }

  get size(): number {
    return this.#flows.size;
  }
}

/**
 * The process's shared endpoints: the UDP transport, response targets and dialog targets take their peers
 * from here. Values only (nothing is keyed by their identity outside this module), so sharing one table
 * between the transports of one process (tests run several) is safe.
 */
export const endpoints = new EndpointTable();
