import { join } from 'node:path';
import { startAdminServer } from '../admin/admin-server.js';
import { auditRoutes } from '../admin/audit-resource.js';
import { blocksRoutes } from '../admin/blocks-resource.js';
import { configReloadRoutes } from '../admin/config-reload-resource.js';
import { loadConsoleRoutes } from '../admin/console/console-routes.js';
import { type CustomerSources, customersRoutes } from '../admin/customers-resource.js';
import type { Route } from '../admin/router.js';
import { loadOrCreateTokenFile, TokenFileError } from '../admin/token-file.js';
import { tracebackRoutes } from '../admin/traceback-resource.js';
import type { Config } from '../config/index.js';
import type { ControlPlane, ReloadOutcome } from '../control/control-plane.js';
import type { Logger } from '../log/logger.js';
import type { TracebackStore } from '../traceback/store.js';
import type { Closers } from './closers.js';
import { StartupError } from './startup-error.js';

/** What the admin API serves; a resource whose backing is absent is not offered. */
export interface AdminResources {
  /** The traceback store's client (traceback on). */
  readonly traceback?: Pick<TracebackStore, 'query'>;
  /** Blocks, customers and their limits, the audit log; with `reload`, the config reload endpoint. */
  readonly control?: {
    readonly plane: ControlPlane;
    readonly customers: CustomerSources;
    readonly reload?: () => Promise<ReloadOutcome>;
  };
}

/**
 * The admin API on `admin.listen` (ADMIN-API.md), in the single process or the cluster primary (never in a SIP
 * worker): the token file (created with a random token, mode 0600, at first start), then the listener with
 * the resources given (each store access goes to the store thread: nothing runs SQL on this event loop) and
 * the web console's files (read here, once, asynchronously).
 * Returns the listener's URL, or `undefined` when `admin.listen` is "".
 */
export async function startAdminService(
  config: Config,
  resources: AdminResources,
  closers: Closers,
  logger: Logger,
): Promise<string | undefined> {
  const listen = config.admin.listen;
  if (listen === undefined) return undefined;
  const file = adminTokenFile(config);
  const loaded = await loadOrCreateTokenFile(file).catch((cause: unknown) => {
    if (cause instanceof TokenFileError) throw new StartupError('data_dir', cause.message, { cause });
    throw cause;
  });
  if (loaded.created) logger.info({ file }, 'admin_token_created');
  if ((loaded.mode & 0o077) !== 0) {
    logger.warn({ file, mode: loaded.mode.toString(8) }, 'admin_token_file_readable_by_others');
  }
  const consoleRoutes = await loadConsoleRoutes();
  const server = await startAdminServer({
    listen,
    tokens: loaded.tokens,
    routes: [...routesOf(resources, logger), ...consoleRoutes],
    logger,
  }).catch((cause: unknown) => {
    throw new StartupError(
      'listen',
      `admin.listen: cannot listen on ${listen.address}:${listen.port}: ${(cause as Error).message}`,
      { cause },
    );
  });
  closers.add(() => server.close());
  logger.info({ url: server.url }, 'admin_listening');
  return server.url;
}

function routesOf(r: AdminResources, logger: Logger): Route[] {
  const routes: Route[] = [];
  if (r.traceback !== undefined) routes.push(...tracebackRoutes(r.traceback));
  const c = r.control;
  if (c !== undefined) {
    routes.push(...blocksRoutes(c.plane), ...customersRoutes(c.plane, c.customers), ...auditRoutes(c.plane));
    if (c.reload !== undefined) routes.push(...configReloadRoutes(c.plane, c.reload, logger));
  }
  return routes;
}

/** `admin.token_file`, default `<data_dir>/admin-token`. */
export function adminTokenFile(config: Config): string {
  return config.admin.tokenFile ?? join(config.dataDir, 'admin-token');
}
