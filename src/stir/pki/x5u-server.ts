/**
 * A tiny certificate server for x5u URLs (RFC 8225 §5.1 x5u, ATIS-1000074 §5.3.1): serves PEM chains held
 * in memory at `/<name>`, with `Content-Type: application/pem-certificate-chain` (RFC 8555 §9.1) and
 * `Cache-Control: max-age=3600` so verifiers cache it. Meant for loopback (the embedded default and tests);
 * a production SP publishes its chain on a real HTTPS origin.
 *
 * Plain HTTP unless `tls` is given (then HTTPS with that key and certificate).
 */
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface X5uServerOptions {
  /** Bind address (default 127.0.0.1). */
  readonly address?: string;
  /** Port (default 0: any free port). */
  readonly port?: number;
  /** File name (e.g. `sp.pem`) -> PEM body. Copied at start. */
  readonly files: Readonly<Record<string, string>>;
  /** Cache-Control max-age in seconds (default 3600). */
  readonly maxAgeSeconds?: number;
  /** Serve HTTPS with this key/certificate (PEM). */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface X5uServer {
  /** Absolute URL of `name`, e.g. `http://127.0.0.1:40123/sp.pem`. */
  url(name: string): string;
  /** Base URL without trailing slash. */
  readonly baseUrl: string;
  readonly port: number;
  /** Replace or add a file (e.g. after a certificate renewal). */
  setFile(name: string, pem: string): void;
  close(): Promise<void>;
}

export async function startX5uServer(opts: X5uServerOptions): Promise<X5uServer> {
  const files = new Map<string, Buffer>();
  for (const [name, pem] of Object.entries(opts.files)) files.set(name, Buffer.from(pem, 'utf8'));
  const cacheControl = `max-age=${opts.maxAgeSeconds ?? 3600}`;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': 0 });
      res.end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    let name: string | undefined;
    try {
      name = path.startsWith('/') ? decodeURIComponent(path.slice(1)) : undefined;
    } catch {
      name = undefined; // malformed %-escape: not one of our names
    }
    const body = name === undefined ? undefined : files.get(name);
    if (!body) {
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Length': 10 });
      res.end(method === 'HEAD' ? undefined : 'not found\n');
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'application/pem-certificate-chain',
      'Content-Length': body.length,
      'Cache-Control': cacheControl,
    });
    res.end(method === 'HEAD' ? undefined : body);
  };
  const server: Server = opts.tls
    ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler)
    : createHttpServer(handler);
  const address = opts.address ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = address.includes(':') ? `[${address}]` : address;
  const baseUrl = `${opts.tls ? 'https' : 'http'}://${host}:${port}`;
  return {
    baseUrl,
    port,
    url: (name: string) => `${baseUrl}/${name}`,
    setFile: (name: string, pem: string) => {
      files.set(name, Buffer.from(pem, 'utf8'));
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
