import { readFile } from 'node:fs/promises';
import type { Endpoint } from '../sip/transport/types.js';

/** One of the element's UDP sockets: where it is bound and its receive buffer (SO_RCVBUF as the kernel set it). */
export interface UdpSocketBuffer {
  readonly local: Endpoint;
  readonly bufferBytes: number;
}

/**
 * The fullest socket's receive queue as a share of its buffer, 0..1, from the text of /proc/net/udp or
 * /proc/net/udp6 (proc(5): `local_address` is `ADDR:PORT` in hex, the IPv4 address in host byte order;
 * `tx_queue:rx_queue` in hex bytes, counted as the kernel charges them against SO_RCVBUF). An IPv4 socket is
 * matched by address and port (or a wildcard address); an IPv6 one by port. Undefined when none of `sockets`
 * appears in the text.
 */
export function backlogShare(procText: string, sockets: readonly UdpSocketBuffer[]): number | undefined {
  let share: number | undefined;
  for (const line of procText.split('\n')) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    const queues = f[4];
    if (local === undefined || queues === undefined || !local.includes(':')) continue;
    const [addr, portHex] = local.split(':') as [string, string];
    const port = Number.parseInt(portHex, 16);
    const rx = Number.parseInt(queues.split(':')[1] ?? '', 16);
    if (!Number.isFinite(port) || !Number.isFinite(rx)) continue;
    for (const s of sockets) {
      if (s.local.port !== port || s.bufferBytes <= 0) continue;
      if (addr.length === 8 && addr !== '00000000' && addr !== ipv4Hex(s.local.address)) continue;
      share = Math.max(share ?? 0, Math.min(1, rx / s.bufferBytes));
    }
  }
  return share;
}

/** An IPv4 address as /proc/net/udp writes it on a little-endian host ("127.0.0.1" -> "0100007F"). */
function ipv4Hex(address: string): string {
  const parts = address.split('.');
  if (parts.length !== 4) return '';
  return parts
    .reverse()
    .map((p) => Number(p).toString(16).padStart(2, '0').toUpperCase())
    .join('');
}

/**
 * Reads the backlog of the element's UDP sockets, asynchronously (the file is read through libuv's thread
 * pool, never on the event loop's own time). `read()` resolves undefined where /proc/net/udp cannot be read
 * (not Linux) or the element has no UDP socket; callers then decide without it.
 */
export class UdpBacklog {
  readonly #sockets: () => readonly UdpSocketBuffer[];
  readonly #files: readonly string[];
  #unreadable = false;

  constructor(sockets: () => readonly UdpSocketBuffer[], files = ['/proc/net/udp', '/proc/net/udp6']) {
    this.#sockets = sockets;
    this.#files = files;
  }

  async read(): Promise<number | undefined> {
    const sockets = this.#sockets();
    if (this.#unreadable || sockets.length === 0) return undefined;
    const texts = await Promise.all(this.#files.map((f) => readFile(f, 'latin1').catch(() => undefined)));
    if (texts.every((t) => t === undefined)) {
      this.#unreadable = true;
      return undefined;
    }
    let share: number | undefined;
    for (const t of texts) {
      if (t === undefined) continue;
      const s = backlogShare(t, sockets);
      if (s !== undefined) share = Math.max(share ?? 0, s);
    }
    return share;
  }
}
