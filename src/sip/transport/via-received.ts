import type { SipMessage } from '../message/message.js';
import { sameIpAddress } from './endpoint.js';
import type { Endpoint } from './types.js';

/**
 * Server transport stamping of the top Via of an inbound request.
 *
 * RFC 3261 §18.2.1: if the sent-by host is a domain name or an IP address other than the packet source,
 * add `received=<source address>`.
 * RFC 3581 §4: if the top Via carries `rport` without a value, set it to the source port and add
 * `received` even when the address is identical.
 *
 * The raw header text is edited in place (only the top Via element changes; everything else, including
 * compact names and other Via values on the same line, stays byte for byte), then the message's parsed
 * caches are dropped. Returns whether the message changed. Throws SipParseError if the Via is malformed.
 */
export function stampReceived(message: SipMessage, source: Endpoint): boolean {
  const via = message.topVia;
  if (via === undefined) return false;
  const fillRport = via.rport === null;
  if (!fillRport) {
    if (sameIpAddress(via.host, source.address)) return false;
    // Already names the source (e.g. stamped by us before): nothing to do.
    if (via.received !== undefined && sameIpAddress(via.received, source.address)) return false;
  }
  const i = message.headers.findIndex((h) => h.name === 'via');
  const line = message.headers[i];
  if (line === undefined) return false;
  const end = topElementEnd(line.value);
  const top = setViaParams(line.value.slice(0, end), source.address, fillRport ? source.port : undefined);
  message.headers[i] = { ...line, value: top + line.value.slice(end) };
  message.invalidate();
  return true;
}

/**
 * Index of the first comma separating Via values, or the length. Same rule as `splitHeaderValues` (commas
 * inside quoted strings and <...> do not count), so this is the element `message.topVia` was parsed from.
 */
export function topElementEnd(value: string): number {
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c)
        i++; // quoted-pair
      else if (c === 0x22) quoted = false;
    } else if (angle) {
      if (c === 0x3e) angle = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x3c) angle = true;
    else if (c === 0x2c) return i;
  }
  return value.length;
}

/**
 * Set `received` (replaced or appended) and, when `rport` is given, the value of the `rport` flag on one
 * Via value. Other parameters keep their text and order.
 */
export function setViaParams(element: string, received: string, rport: number | undefined): string {
  const parts = splitParams(element);
  let sawReceived = false;
  for (let k = 1; k < parts.length; k++) {
    const p = parts[k]!;
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    if (name === 'received') {
      parts[k] = `received=${received}`;
      sawReceived = true;
    } else if (name === 'rport' && rport !== undefined && eq < 0) {
      parts[k] = `rport=${rport}`;
    }
  }
  if (!sawReceived) parts.push(`received=${received}`);
  return parts.join(';');
}

/** Split on `;` outside quoted strings; element 0 is `SIP/2.0/UDP host:port`. */
function splitParams(element: string): string[] {
  const out: string[] = [];
  let quoted = false;
  let from = 0;
  for (let i = 0; i < element.length; i++) {
    const c = element.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x3b) {
      out.push(element.slice(from, i));
      from = i + 1;
    }
  }
  out.push(element.slice(from).trimEnd());
  return out;
}
