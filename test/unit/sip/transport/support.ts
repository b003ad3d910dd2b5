import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';

let seq = 0;

export interface RequestOptions {
  method?: string;
  /** Full top Via value. */
  via?: string;
  callId?: string;
  body?: string | Buffer;
  /** Omit Content-Length (invalid on a stream). */
  noContentLength?: boolean;
  extraHeaders?: string[];
}

/** A small valid SIP request, CRLF line ends, Content-Length matching the body. */
export function sipRequest(o: RequestOptions = {}): Buffer {
  const n = ++seq;
  const method = o.method ?? 'OPTIONS';
  const body = typeof o.body === 'string' ? Buffer.from(o.body, 'latin1') : (o.body ?? Buffer.alloc(0));
  const lines = [
    `${method} sip:bob@127.0.0.1 SIP/2.0`,
    `Via: ${o.via ?? `SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-t${n}`}`,
    'Max-Forwards: 70',
    `From: <sip:alice@example.com>;tag=f${n}`,
    'To: <sip:bob@example.com>',
    `Call-ID: ${o.callId ?? `call-${n}@test`}`,
    `CSeq: ${n} ${method}`,
    ...(o.extraHeaders ?? []),
  ];
  if (!o.noContentLength) lines.push(`Content-Length: ${body.length}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

export function sipResponse(status: number, via: string, callId = 'resp@test'): Buffer {
  return Buffer.from(
    `SIP/2.0 ${status} OK\r\nVia: ${via}\r\nFrom: <sip:a@example.com>;tag=1\r\nTo: <sip:b@example.com>;tag=2\r\n` +
      `Call-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
    'latin1',
  );
}

/** Resolve with the n-th value pushed, or reject after `ms`. */
export class Collector<T> {
  readonly items: T[] = [];
  #waiters: { n: number; resolve: (v: T[]) => void }[] = [];

  push = (item: T): void => {
    this.items.push(item);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.items.length >= w.n) {
        w.resolve(this.items.slice(0, w.n));
        return false;
      }
      return true;
    });
  };

  /** Wait until `n` items arrived (bounded by `ms`). */
  wait(n: number, ms = 2000): Promise<T[]> {
    if (this.items.length >= n) return Promise.resolve(this.items.slice(0, n));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${n} items, have ${this.items.length}`)),
        ms,
      );
      this.#waiters.push({
        n,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      });
    });
  }
}

export function udpSocket(family: 4 | 6 = 4): Promise<UdpSocket> {
  const s = createSocket(family === 6 ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind({ address: family === 6 ? '::1' : '127.0.0.1', port: 0 }, () => resolve(s));
  });
}

export function closeUdp(s: UdpSocket): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

export function tcpClient(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

/** Resolves when the socket closed (by the peer), rejects after `ms`. Unread data is discarded. */
export function closed(s: Socket, ms = 2000): Promise<void> {
  if (s.closed) return Promise.resolve();
  s.resume(); // a paused socket with unread bytes never reaches 'end'
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('socket still open')), ms);
    s.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Gives the other end of a loopback socket a chance to read (one event-loop turn plus I/O). */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Whether ::1 can be bound here (CI containers often lack IPv6). */
export async function ipv6Available(): Promise<boolean> {
  const s = createSocket('udp6');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.bind({ address: '::1', port: 0 }, () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    try {
      s.close();
    } catch {
      // never bound
    }
  }
}

/** Collect every byte a TCP socket receives. */
export function received(s: Socket): { text: () => string } {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return { text: () => Buffer.concat(chunks).toString('latin1') };
}
