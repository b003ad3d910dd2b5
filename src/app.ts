import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { ensureOrigids } from './app/origids-file.js';
import { StartupError } from './app/startup-error.js';
import { B2bua } from './b2bua/b2bua.js';
import { compileHeaderRules } from './b2bua/header-rules.js';
import type { HookChains } from './b2bua/invite-hooks.js';
import { type RouteRuntime, Router, type TrunkRuntime } from './b2bua/router.js';
import { type CustomerRuntime, SigningHook } from './b2bua/signing-hook.js';
import { trustBoundaryOf } from './b2bua/trust-boundary.js';
import { VerificationHook } from './b2bua/verification-hook.js';
import {
  type Config,
  type CustomerConfig,
  compileSourceMatcher,
  type NumberEntryConfig,
  type TrunkConfig,
} from './config/index.js';
import type { Logger } from './log/logger.js';
import { createMetricsRegistry, startMetrics, trunkLabels } from './metrics/start-metrics.js';
import { compileNumberSet } from './policy/attestation.js';
import { TransactionLayer } from './sip/transaction/index.js';
import { endpoints as peerEndpoints } from './sip/transport/endpoint-table.js';
import { TransportLayer } from './sip/transport/index.js';
import type { DatagramSteer, Endpoint, TransportProtocol } from './sip/transport/types.js';
import { OwnPortError } from './sip/transport/udp-transport.js';
import { CertCache } from './stir/certs/cert-cache.js';
import { fetchX5u } from './stir/certs/fetch.js';
import { TrustStore } from './stir/certs/trust.js';
import { createX5uPolicy } from './stir/certs/x5u-policy.js';
import { loadSigningMaterial } from './stir/keys.js';
import { loadOrCreateDevPki } from './stir/pki/dev-pki.js';
import { startX5uServer, type X5uServer } from './stir/pki/x5u-server.js';
import { MemoryReplayStore, type ReplayStore } from './stir/replay-store.js';
import { Signer } from './stir/signer.js';
import { Verifier } from './stir/verifier.js';
import { VERSION } from './version.js';

export { StartupError, type StartupErrorCode } from './app/startup-error.js';

/**
 * What a cluster worker (src/cluster/worker.ts) plugs into the element: the shared sockets and the datagram
 * steer, Call-IDs it owns, the primary's replay store, and its metrics registry handed up instead of served.
 */
export interface WorkerSeams {
  readonly index: number;
  readonly workers: number;
  readonly steer: DatagramSteer;
  /** Receives the transport, to deliver datagrams other workers forward. */
  attach(transport: TransportLayer): void;
  readonly newCallId: () => string;
  readonly replay: ReplayStore;
  /** The worker's registry, for the primary's aggregated /metrics. */
  setRegistry(registry: Registry): void;
}

/** A running element: what tests and main need to observe and stop it. */
export interface Stirgate {
  readonly config: Config;
  /** Bound SIP endpoints (actual ports when 0 was configured). */
  readonly endpoints: readonly { protocol: TransportProtocol; local: Endpoint }[];
  /** The x5u URL put in every PASSporT we sign, when signing is on. */
  readonly x5u: string | undefined;
  /** URL of /metrics when `metrics.listen` is set. */
  readonly metricsUrl: string | undefined;
  stats(): {
    calls: number;
    dialogs: number;
    clientTransactions: number;
    serverTransactions: number;
    tcpConnections: number;
    certCacheEntries?: number;
  };
  close(): Promise<void>;
}

/**
 * The composition root's body: config -> STIR material -> sip stack -> b2bua -> listen.
 * Everything here runs once at start; nothing on the per-call path does I/O synchronously.
 */
export async function startStirgate(input: Config, logger: Logger, worker?: WorkerSeams): Promise<Stirgate> {
  const closers: (() => Promise<void> | void)[] = [];
  try {
    const { config, devPki } = await prepareState(input);
    const roles = rolesOf(config);

    // --- STIR: signing material and the built-in x5u server for the dev PKI.
    let signer: Signer | undefined;
    let x5u: string | undefined;
    if (roles.has('originating')) {
      let keyPem: string;
      let certPem: string;
      if (config.stir.signing !== undefined) {
        const s = config.stir.signing;
        keyPem = await readFile(s.privateKeyFile, 'utf8').catch((cause: unknown) => {
          throw new StartupError(
            'signing_material',
            `stir.signing.private_key_file: cannot read ${s.privateKeyFile}`,
            { cause },
          );
        });
        certPem = await readFile(s.certificateFile, 'utf8').catch((cause: unknown) => {
          throw new StartupError(
            'signing_material',
            `stir.signing.certificate_file: cannot read ${s.certificateFile}`,
            { cause },
          );
        });
        x5u = s.x5uUrl;
      } else {
        keyPem = devPki!.spKeyPem;
        certPem = devPki!.spChainPem;
        const at = config.stir.devPki.x5uListen;
        const server: X5uServer = await startX5uServer({
          address: at.address,
          port: at.port,
          files: { 'sp.pem': devPki!.spChainPem },
        }).catch((cause: unknown) => {
          throw new StartupError(
            'listen',
            `stir.dev_pki.x5u_listen: cannot listen on ${at.address}:${at.port}: ${(cause as Error).message}`,
            { cause },
          );
        });
        closers.push(() => server.close());
        x5u = server.url('sp.pem');
        logger.info({ x5u, pki: devPki!.dir }, 'development PKI: serving the SP certificate on loopback');
      }
      let material: ReturnType<typeof loadSigningMaterial>;
      try {
        material = loadSigningMaterial({ privateKeyPem: keyPem, certificatePem: certPem });
      } catch (cause) {
        const what = config.stir.signing === undefined ? `development PKI in ${devPki?.dir}` : 'stir.signing';
        throw new StartupError('signing_material', `${what}: ${(cause as Error).message}`, { cause });
      }
      signer = new Signer({ privateKey: material.privateKey, x5u });
    }

    // --- STIR: verification service.
    let verifier: Verifier | undefined;
    let certCache: CertCache | undefined;
    if (roles.has('terminating')) {
      const v = config.stir.verification;
      let crl: string | undefined;
      if (v.crlFile !== undefined) crl = await readFile(v.crlFile, 'latin1');
      let trust: TrustStore;
      try {
        trust =
          v.trustRootsDir !== undefined
            ? await TrustStore.fromDirectory(
                v.trustRootsDir,
                v.crlFile !== undefined ? { crlFile: v.crlFile } : {},
              )
            : TrustStore.fromPem(devPki!.caPem, crl !== undefined ? { crl } : {});
      } catch (cause) {
        throw new StartupError(
          'trust_roots',
          `stir.verification.trust_roots_dir: ${(cause as Error).message}`,
          { cause },
        );
      }
      const policy = createX5uPolicy({
        allowHttp: v.x5u.allowHttp,
        ports: v.x5u.allowedPorts,
        allowUserinfo: v.x5u.allowUserinfoQuery,
        allowQuery: v.x5u.allowUserinfoQuery,
        allowCidrs: v.x5u.allowCidrs,
        denyCidrs: v.x5u.denyCidrs,
      });
      const cache = new CertCache({
        trust,
        max: v.cache.maxEntries,
        minTtlMs: v.cache.minTtlS * 1000,
        maxTtlMs: v.cache.maxTtlS * 1000,
        defaultTtlMs: v.cache.defaultTtlS * 1000,
        negativeTtlMs: v.cache.negativeTtlS * 1000,
        fetch: (url) =>
          fetchX5u(url, { timeoutMs: v.x5u.timeoutMs, maxBodyBytes: v.x5u.maxBodyBytes, policy }),
      });
      certCache = cache;
      verifier = new Verifier({
        trust,
        cache,
        replay: worker?.replay ?? new MemoryReplayStore({ max: v.replay.maxEntries }),
        x5uPolicy: policy,
        maxAgeS: v.maxAgeS,
        maxFutureSkewS: v.maxFutureSkewS,
      });
    }

    // --- SIP stack.
    const lim = config.sip.limits;
    const transport = new TransportLayer(
      {
        maxMessageSize: lim.maxMessageBytes,
        maxHeaders: lim.maxHeaders,
        maxLineLength: lim.maxLineLength,
        tcpMaxConnections: lim.tcpMaxConnections,
        tcpIdleTimeoutMs: lim.tcpIdleTimeoutS * 1000,
        tcpConnectTimeoutMs: lim.tcpConnectTimeoutMs,
      },
      worker === undefined
        ? {}
        : {
            shared: true,
            steer: worker.steer,
            ownUdpPort: config.workerUdpPortBase === 0 ? 0 : config.workerUdpPortBase + worker.index,
          },
    );
    closers.push(() => transport.close());
    worker?.attach(transport);
    const transactions = new TransactionLayer(transport, {
      timers: { t1Ms: config.sip.timers.t1Ms, t2Ms: config.sip.timers.t2Ms, t4Ms: config.sip.timers.t4Ms },
    });
    closers.push(() => transactions.close());

    const routes = new Map<string, RouteRuntime>(
      config.routes.map((r) => [
        r.name,
        {
          name: r.name,
          hops: r.nextHops.map((h) => ({
            address: h.address,
            port: h.port,
            protocol: h.transport,
            target: { protocol: h.transport, remote: peerEndpoints.endpoint(h.address, h.port) },
          })),
          failoverOn: new Set(r.failoverOn),
          inviteTimeoutMs: r.inviteTimeoutS === undefined ? undefined : r.inviteTimeoutS * 1000,
        },
      ]),
    );
    const customerOfTrunk = new Map<string, string>();
    for (const c of config.customers) for (const t of c.trunks) customerOfTrunk.set(t, c.name);
    const trunks = config.trunks.map((t) => trunkRuntime(t, routes, customerOfTrunk.get(t.name)));
    const router = new Router(trunks);

    const hooks: { -readonly [R in keyof HookChains]: HookChains[R] } = {};
    if (signer !== undefined) {
      const customers = new Map<string, CustomerRuntime>(
        config.customers.map((c) => [c.name, customerRuntime(c)]),
      );
      hooks.originating = [new SigningHook({ signer, customers })];
    }
    if (verifier !== undefined) hooks.terminating = [new VerificationHook({ verifier })];

    const unmatchedRoute =
      config.unmatchedSource.route === undefined ? undefined : routes.get(config.unmatchedSource.route);
    const endpointCache = new Map<TransportProtocol, Endpoint | undefined>();
    const b2bua = new B2bua({
      router,
      transactions,
      // Looked up once per protocol (requests arrive only after listen): the transport throws for a protocol
      // we do not listen on, and a throw per INVITE would cost a stack capture on the hot path.
      localEndpoint: (protocol) => {
        if (!endpointCache.has(protocol)) {
          let ep: Endpoint | undefined;
          try {
            ep = transport.localEndpoint(protocol);
          } catch {
            ep = undefined;
          }
          endpointCache.set(protocol, ep);
        }
        return endpointCache.get(protocol);
      },
      logger,
      hooks,
      unmatched: {
        action: config.unmatchedSource.action,
        status: config.unmatchedSource.status,
        ...(unmatchedRoute !== undefined
          ? {
              trunk: trunkRuntime(
                {
                  name: 'unmatched',
                  role: 'passthrough',
                  match: { sources: [] },
                  route: unmatchedRoute.name,
                  countryCode: '1',
                  headers: {},
                },
                routes,
                undefined,
              ),
            }
          : {}),
      },
      maxForwards: config.sip.maxForwards,
      userAgent: config.sip.userAgent,
      // Cluster mode: each worker admits its share, so the element as a whole keeps the configured limit.
      maxCalls: Math.ceil(config.sip.callLimits.maxCalls / (worker?.workers ?? 1)),
      ackTimeoutMs: 64 * config.sip.timers.t1Ms,
      ...(worker !== undefined ? { newCallId: worker.newCallId } : {}),
    });
    transactions.setUser(b2bua);
    closers.push(() => b2bua.close());

    const stats = () => {
      const b = b2bua.stats();
      const t = transactions.stats();
      return {
        calls: b.calls,
        dialogs: b.dialogs,
        clientTransactions: t.client,
        serverTransactions: t.server,
        tcpConnections: transport.stats().tcpConnections,
        ...(certCache !== undefined ? { certCacheEntries: certCache.size } : {}),
      };
    };
    // Metrics before the SIP sockets, so the first INVITE is counted.
    let metricsUrl: string | undefined;
    const ml = config.metrics.listen;
    if (worker !== undefined) {
      // The primary serves /metrics, summing every worker's registry (src/cluster/primary.ts).
      const m = createMetricsRegistry({ stats, version: VERSION, trunks: trunkLabels(config) });
      closers.push(() => m.close());
      worker.setRegistry(m.registry);
    } else if (ml !== undefined) {
      const metrics = await startMetrics({
        listen: ml,
        stats,
        logger,
        version: VERSION,
        trunks: trunkLabels(config),
      }).catch((cause: unknown) => {
        throw new StartupError(
          'listen',
          `metrics.listen: cannot listen on ${ml.address}:${ml.port}: ${(cause as Error).message}`,
          {
            cause,
          },
        );
      });
      closers.push(() => metrics.close());
      metricsUrl = metrics.url;
    }

    let bound: Endpoint[];
    try {
      bound = await transport.listen(
        config.listen.map((l) => ({ protocol: l.transport, address: l.address, port: l.port })),
      );
    } catch (cause) {
      if (cause instanceof OwnPortError)
        throw new StartupError('listen', `worker_udp_port_base: ${cause.message}`, { cause });
      throw new StartupError('listen', `listen: ${(cause as Error).message}`, { cause });
    }
    const endpoints = bound.map((local, i) => ({ protocol: config.listen[i]!.transport, local }));
    logger.info(
      { endpoints: endpoints.map((e) => `${e.protocol}:${e.local.address}:${e.local.port}`), x5u },
      'stirgate listening',
    );

    return {
      config,
      endpoints,
      x5u,
      metricsUrl,
      stats,
      close: () => closeAll(closers),
    };
  } catch (err) {
    await closeAll(closers);
    throw err;
  }
}

function rolesOf(config: Config): Set<TrunkRuntime['role']> {
  const roles = new Set(config.trunks.map((t) => t.role));
  if (config.unmatchedSource.action === 'passthrough') roles.add('passthrough');
  return roles;
}

/**
 * State in data_dir that must exist before the element starts: the directory, generated origids, and the
 * development PKI when it is needed. A cluster primary runs this before forking, so workers only read.
 */
export async function prepareState(
  input: Config,
): Promise<{ config: Config; devPki: Awaited<ReturnType<typeof loadOrCreateDevPki>> | undefined }> {
  await mkdir(input.dataDir, { recursive: true }).catch((cause: unknown) => {
    throw new StartupError('data_dir', `data_dir: cannot create ${input.dataDir}`, { cause });
  });
  const config = await ensureOrigids(input);
  const roles = rolesOf(config);
  const needDevPki =
    (roles.has('originating') && config.stir.signing === undefined) ||
    (roles.has('terminating') && config.stir.verification.trustRootsDir === undefined);
  const devPki = needDevPki
    ? await loadOrCreateDevPki(join(config.dataDir, 'pki'), { spc: config.stir.devPki.spc })
    : undefined;
  return { config, devPki };
}

async function closeAll(closers: (() => Promise<void> | void)[]): Promise<void> {
  for (const c of closers.reverse()) {
    try {
      await c();
    } catch {
      // closing is best effort
    }
  }
  closers.length = 0;
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

function numberEntry(e: NumberEntryConfig): string {
  switch (e.kind) {
    case 'exact':
      return e.tn;
    case 'range':
      return `${e.from}-${e.to}`;
    case 'prefix':
      return `${e.prefix}*`;
  }
}

function customerRuntime(c: CustomerConfig): CustomerRuntime {
  return { name: c.name, origid: c.origid ?? '', numbers: compileNumberSet(c.numbers.map(numberEntry)) };
}
