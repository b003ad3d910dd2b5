// Free-port discovery and a non-intrusive "is something bound here" probe for tests that start
// external processes (SIPp) on real sockets.
import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

export type PortProtocol = 'udp' | 'tcp' | 'both';

/** Ports already handed out by this process: never hand one out twice, even after it was released. */
const handedOut = new Set<number>();

/**
 * A port that is free on `host` for UDP, TCP or both, found by binding port 0 and releasing it.
 * Another process can still take it before the caller binds it; handing each port out once per
 * process keeps concurrent tests in one worker from colliding.
 */
export async function freePort(protocol: PortProtocol, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = protocol === 'tcp' ? await tryTcp(0, host) : await tryUdp(0, host);
    if (port === undefined || handedOut.has(port)) continue;
    if (protocol === 'both' && (await tryTcp(port, host)) === undefined) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`freePort: no free ${protocol} port on ${host} after 50 attempts`);
}

function tryUdp(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(undefined);
    });
    socket.bind(port, host, () => {
      const bound = socket.address().port;
      socket.close(() => resolve(bound));
    });
  });
}

function tryTcp(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host, exclusive: true }, () => {
      const address = server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** TCP state LISTEN in /proc/net/tcp. */
const TCP_LISTEN = '0A';

/**
 * Whether some socket on this host is bound to `port` (UDP) or listening on it (TCP), read from
 * /proc/net without touching the port, so a process that is still starting cannot lose a bind race
 * to the probe. Returns undefined where /proc/net is unavailable (not Linux).
 */
export async function isPortBound(protocol: 'udp' | 'tcp', port: number): Promise<boolean | undefined> {
  const wanted = port.toString(16).toUpperCase().padStart(4, '0');
  let sawTable = false;
  for (const table of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    sawTable = true;
    for (const line of text.split('\n').slice(1)) {
      // "  sl  local_address rem_address   st ..." -> local_address is "HEXIP:HEXPORT"
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      const state = fields[3];
      if (local === undefined || state === undefined) continue;
      if (local.slice(local.lastIndexOf(':') + 1) !== wanted) continue;
      if (protocol === 'udp' || state === TCP_LISTEN) return true;
    }
  }
  return sawTable ? false : undefined;
}
