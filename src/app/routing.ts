import { compileHeaderRules } from '../b2bua/header-rules.js';
import { type RouteRuntime, Router, type TrunkRuntime } from '../b2bua/router.js';
import { trustBoundaryOf } from '../b2bua/trust-boundary.js';
import { type Config, compileSourceMatcher, type TrunkConfig } from '../config/index.js';
import { endpoints as peerEndpoints } from '../sip/transport/endpoint-table.js';
import { StartupError } from './startup-error.js';

/** Trunks, routes and the trunk for unmatched sources, compiled once per configuration. */
export interface Routing {
  readonly router: Router;
  /** The passthrough trunk unmatched sources take when `unmatched_source.route` is set. */
  readonly unmatchedTrunk: TrunkRuntime | undefined;
}

export function buildRouting(config: Config): Routing {
  const routes = new Map<string, RouteRuntime>(config.routes.map((r) => [r.name, routeRuntime(r)]));
  const customerOfTrunk = new Map<string, string>();
  for (const c of config.customers) for (const t of c.trunks) customerOfTrunk.set(t, c.name);
  const router = new Router(config.trunks.map((t) => trunkRuntime(t, routes, customerOfTrunk.get(t.name))));
  const unmatchedRoute = config.unmatchedSource.route;
  const unmatchedTrunk =
    unmatchedRoute === undefined
      ? undefined
      : trunkRuntime(
          {
            name: 'unmatched',
            role: 'passthrough',
            match: { sources: [] },
            route: unmatchedRoute,
            countryCode: '1',
            headers: {},
          },
          routes,
          undefined,
        );
  return { router, unmatchedTrunk };
}

function routeRuntime(r: Config['routes'][number]): RouteRuntime {
  return {
    name: r.name,
    // Each hop's target is built here, once, and shared by its calls.
    hops: r.nextHops.map((h) => ({
      address: h.address,
      port: h.port,
      protocol: h.transport,
      target: { protocol: h.transport, remote: peerEndpoints.endpoint(h.address, h.port) },
    })),
    failoverOn: new Set(r.failoverOn),
    inviteTimeoutMs: r.inviteTimeoutS === undefined ? undefined : r.inviteTimeoutS * 1000,
  };
}

function trunkRuntime(
  t: TrunkConfig,
  routes: ReadonlyMap<string, RouteRuntime>,
  customer: string | undefined,
): TrunkRuntime {
  const route = routes.get(t.route);
  if (route === undefined)
    throw new StartupError('listen', `trunks.${t.name}.route: unknown route ${t.route}`);
  return {
    name: t.name,
    role: t.role,
    route,
    countryCode: t.countryCode,
    headerRules: compileHeaderRules(t.headers.allow, t.headers.deny),
    gateway: t.role === 'originating' ? t.gateway : false,
    identityIn: t.role === 'originating' ? t.identityIn : 'keep',
    verification: t.role === 'terminating' ? t.verification : undefined,
    trustBoundary: trustBoundaryOf(
      t.role,
      t.role === 'terminating' ? t.verification.attestationHeader : undefined,
    ),
    customer,
    matchSource: compileSourceMatcher(t.match.sources),
    matchPort: t.match.port,
    matchTransport: t.match.transport,
  };
}
