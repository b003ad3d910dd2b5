import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A certificate server that misbehaves on purpose, on 127.0.0.1 only, for the x5u fault tests. The first
 * path segment picks the fault; the rest of the path is free, so every call can name a URL of its own:
 *
 * | path            | answer                                                                        |
 * | --------------- | ----------------------------------------------------------------------------- |
 * | /good.pem       | 200, the certificate chain it was given, max-age=3600                          |
 * | /silent/...     | accepts the connection, never answers                                          |
 * | /drip/...       | 200 and Content-Length 4096, then one byte every 100 ms                        |
 * | /huge/...       | 200, Content-Length 10 MB, and the 10 MB                                       |
 * | /huge-chunked/...| 200, chunked, 10 MB with no length                                            |
 * | /redirect-self/...    | 302 to the same URL                                                      |
 * | /redirect-private/... | 302 to http://169.254.169.254/latest/sp.pem (link-local metadata address) |
 * | /redirect-loop/...    | 302 to /redirect-loop-b/..., which redirects back                        |
 * | /redirect-good/...    | 302 to /good-by-redirect.pem, a good certificate it counts fetches of    |
 * | /garbage/...    | 200, 4 KB of random bytes                                                      |
 * | /error/...      | 500                                                                            |
 */
export type X5uFault =
  | 'silent'
  | 'drip'
  | 'huge'
  | 'huge-chunked'
  | 'redirect-self'
  | 'redirect-private'
  | 'redirect-loop'
  | 'redirect-good'
  | 'garbage'
  | 'error';

export const X5U_FAULTS: readonly X5uFault[] = [
  'silent',
  'drip',
  'huge',
  'huge-chunked',
  'redirect-self',
  'redirect-private',
  'redirect-loop',
  'redirect-good',
  'garbage',
  'error',
];

const TEN_MB = 10 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x41);

export interface X5uFaultServer {
  readonly port: number;
  url(path: string): string;
  /** Requests received per first path segment (`good.pem`, `silent`, ...). */
  readonly requests: Map<string, number>;
  /** Body bytes the server managed to hand to the kernel per first path segment. */
  readonly bytesSent: Map<string, number>;
  close(): Promise<void>;
}

export async function startX5uFaultServer(chainPem: string): Promise<X5uFaultServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const requests = new Map<string, number>();
  const bytesSent = new Map<string, number>();
  const count = (m: Map<string, number>, k: string, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

  /** Writes `total` bytes as fast as the peer reads them, stopping when it goes away. */
  function stream(res: ServerResponse, kind: string, total: number): void {
    let sent = 0;
    const pump = (): void => {
      while (sent < total && !res.destroyed) {
        const n = Math.min(CHUNK.length, total - sent);
        sent += n;
        count(bytesSent, kind, n);
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    pump();
  }

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    const kind = path.split('/')[1] ?? '';
    count(requests, kind);
    const redirect = (to: string) => {
      res.writeHead(302, { location: to, 'content-length': 0 });
      res.end();
    };
    switch (kind) {
      case 'good.pem':
      case 'good-by-redirect.pem':
        res.writeHead(200, { 'content-type': 'application/x-pem-file', 'cache-control': 'max-age=3600' });
        res.end(chainPem);
        return;
      case 'silent':
        return; // the socket stays open; the client's deadline must end it
      case 'drip': {
        res.writeHead(200, { 'content-type': 'application/x-pem-file', 'content-length': 4096 });
        const t = setInterval(() => {
          if (res.destroyed) {
            clearInterval(t);
            timers.delete(t);
            return;
          }
          count(bytesSent, kind);
          res.write('-');
        }, 100);
        timers.add(t);
        return;
      }
      case 'huge':
        res.writeHead(200, { 'content-type': 'application/x-pem-file', 'content-length': TEN_MB });
        stream(res, kind, TEN_MB);
        return;
      case 'huge-chunked':
        res.writeHead(200, { 'content-type': 'application/x-pem-file' });
        stream(res, kind, TEN_MB);
        return;
      case 'redirect-self':
        redirect(`http://127.0.0.1:${port}${path}`);
        return;
      case 'redirect-private':
        redirect('http://169.254.169.254/latest/sp.pem');
        return;
      case 'redirect-loop':
        redirect(path.replace('/redirect-loop/', '/redirect-loop-b/'));
        return;
      case 'redirect-loop-b':
        redirect(path.replace('/redirect-loop-b/', '/redirect-loop/'));
        return;
      case 'redirect-good':
        redirect(`http://127.0.0.1:${port}/good-by-redirect.pem`);
        return;
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/x-pem-file' });
        res.end(randomBytes(4096));
        return;
      default:
        res.writeHead(500);
        res.end('internal error');
    }
  };

  const server: Server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault server has no port');
  const port = address.port;
  return {
    port,
    url: (p) => `http://127.0.0.1:${port}${p.startsWith('/') ? p : `/${p}`}`,
    requests,
    bytesSent,
    async close() {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
