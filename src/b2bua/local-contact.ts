import type { SipRequest } from '../sip/message/message.js';
import type { Endpoint, TransportProtocol } from '../sip/transport/types.js';

const PROTOCOLS: readonly TransportProtocol[] = ['udp', 'tcp'];

/**
 * Our own addresses as the legs see them: the Contact we write (RFC 3261 §8.1.1.8, §12.1.1) and the loop
 * check on the Via of a new INVITE.
 */
export class LocalContact {
  readonly #localEndpoint: (protocol: TransportProtocol) => Endpoint | undefined;
  readonly #texts = new Map<TransportProtocol, { ep: Endpoint; text: string }>();

  constructor(localEndpoint: (protocol: TransportProtocol) => Endpoint | undefined) {
    this.#localEndpoint = localEndpoint;
  }

  /** Contact for a leg on `protocol`: a socket we listen on, the leg's protocol if we have it, else the other. */
  contact(protocol: TransportProtocol): string {
    let proto = protocol;
    let ep = this.#localEndpoint(protocol);
    if (ep === undefined) {
      proto = protocol === 'udp' ? 'tcp' : 'udp';
      ep = this.#localEndpoint(proto);
    }
    if (ep === undefined) return '<sip:stirgate@invalid>';
    // One string per endpoint, shared by every dialog that advertises it (each call holds two).
    const known = this.#texts.get(proto);
    if (known !== undefined && known.ep === ep) return known.text;
    const host = ep.address.includes(':') ? `[${ep.address}]` : ep.address;
    const text = `<sip:stirgate@${host}:${ep.port}${proto === 'tcp' ? ';transport=tcp' : ''}>`;
    this.#texts.set(proto, { ep, text });
    return text;
  }

  /** RFC 3261 §16.3 item 4 style loop check: a Via naming one of our own sockets. */
  isLoop(req: SipRequest): boolean {
    for (const p of PROTOCOLS) {
      const ep = this.#localEndpoint(p);
      if (ep === undefined) continue;
      for (const v of req.via) {
        if (v.host === ep.address && (v.port ?? 5060) === ep.port) return true;
      }
    }
    return false;
  }
}
