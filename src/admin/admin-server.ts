/**
 * The admin HTTP listener (ADMIN-API.md): its own server, never the /metrics one; loopback by default. Routes
 * come from the resource modules; `GET /healthz` is the one open route. Serves the operator, not the call
 * path: it runs in the single process or the cluster primary, and every store access it makes is asynchronous.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { BearerAuth } from './bearer-auth.js';
import { createRouter, type Route } from './router.js';
import type { AdminToken } from './token-file.js';

/** A pasted SIP message with a few PASSporTs is a few KiB; 64 KiB leaves room and bounds what one request holds. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface AdminServer {
  /** `http://host:port` actually bound (port 0 gets a free one). */
  readonly url: string;
  close(): Promise<void>;
}

export async function startAdminServer(o: {
  readonly listen: HostPort;
  readonly tokens: readonly AdminToken[];
  readonly routes: readonly Route[];
  readonly logger: Logger;
  readonly maxBodyBytes?: number;
}): Promise<AdminServer> {
  const healthz: Route = {
    method: 'GET',
    path: '/healthz',
    open: true,
    handle: () => ({ status: 200, body: { ok: true } }),
  };
  const server = createServer(
    createRouter({
      routes: [healthz, ...o.routes],
      auth: new BearerAuth(o.tokens),
      maxBodyBytes: o.maxBodyBytes ?? MAX_BODY_BYTES,
      onInternalError: (err, req) =>
        o.logger.error({ err, method: req.method, path: req.url?.split('?')[0] }, 'admin_request_failed'),
    }),
  );
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.listen.port, o.listen.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
