import type { Registry } from 'prom-client';
import { startAdminService } from './app/admin-service.js';
import { buildCallRouting, type HookChainsBuilder } from './app/call-routing.js';
import { Closers } from './app/closers.js';
import { customerSources, startControlPlane } from './app/control-service.js';
import { loadDnoFile } from './app/dno-file.js';
import { Drain, type DrainOutcome } from './app/drain.js';
import { buildHookChains } from './app/hook-chains.js';
import { startMetricsService } from './app/metrics-service.js';
import { OverloadDetector, type OverloadFigures } from './app/overload-detector.js';
import { type ConfigSource, Reloader, type ReloadOutcome } from './app/reload.js';
import { startSigning } from './app/signing-service.js';
import { createSipStack, listenSip, localEndpoints } from './app/sip-stack.js';
import { prepareState, rolesOf } from './app/state.js';
import {
  startTracebackForwarder,
  startTracebackStore,
  type TracebackService,
} from './app/traceback-service.js';
import { UdpBacklog } from './app/udp-backlog.js';
import { createVerification } from './app/verification-service.js';
import { B2bua } from './b2bua/b2bua.js';
import { LocalAdmissionCounters } from './b2bua/local-admission-counters.js';
import { RecordKeys } from './b2bua/traceback-events.js';
import { type Config, ConfigError } from './config/index.js';
import type { ControlPlane } from './control/control-plane.js';
import type { TracebackEvent } from './events.js';
import type { Logger } from './log/logger.js';
import type { AdmissionCounters } from './policy/admission-counters.js';
import { type Controls, EMPTY_CONTROLS, LiveValue } from './policy/controls.js';
import type { TransportLayer } from './sip/transport/index.js';
import type { DatagramSteer, Endpoint, TransportProtocol } from './sip/transport/types.js';
import type { CertCache } from './stir/certs/cert-cache.js';
import type { ReplayStore } from './stir/replay-store.js';
import type { TracebackStore } from './traceback/store.js';

export type { DrainOutcome } from './app/drain.js';
export type { ConfigSource, ReloadOutcome, ReloadProblem } from './app/reload.js';
export { StartupError, type StartupErrorCode } from './app/startup-error.js';
export { prepareState } from './app/state.js';

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
  /** Hands a batch of traceback records to the primary, which stores them (resolves once sent). */
  readonly traceback: (batch: readonly TracebackEvent[]) => Promise<void>;
  /** The operator controls, set from the primary's `sg:controls` (before the worker reports ready). */
  readonly controls: LiveValue<Controls>;
  /** The element-wide admission counters: the primary counts (src/cluster/ipc-admission-counters.ts). */
  readonly admission: AdmissionCounters;
}

/** A running element: what tests and main need to observe and stop it. */
export interface Stirgate {
  /** The configuration the element started with (origids filled in); `liveConfig` has the one running now. */
  readonly config: Config;
  /** The running configuration: replaced as a whole by each reload that applies. */
  readonly liveConfig: LiveValue<Config>;
  /**
   * Re-read the configuration file and apply what can change without a restart to new calls (src/app/
   * reload.ts); with `next`, apply that configuration instead (a cluster worker, from its primary).
   */
  reload(next?: Config): Promise<ReloadOutcome>;
  /** Bound SIP endpoints (actual ports when 0 was configured). */
  readonly endpoints: readonly { protocol: TransportProtocol; local: Endpoint }[];
  /** The x5u URL put in every PASSporT we sign, when signing is on. */
  readonly x5u: string | undefined;
  /** URL of /metrics when `metrics.listen` is set. */
  readonly metricsUrl: string | undefined;
  /** URL of the admin API (ADMIN-API.md) when `admin.listen` is set; never in a cluster worker. */
  readonly adminUrl: string | undefined;
  /** The traceback store, for queries (the admin API); undefined when traceback is off or in a cluster worker. */
  readonly traceback: TracebackStore | undefined;
  /** The operator controls the call path reads per INVITE (blocks, limit overrides). */
  readonly controls: LiveValue<Controls>;
  /** The counters behind the customer limits (a cluster worker's ask the primary). */
  readonly admission: AdmissionCounters;
  /** The control plane that changes `controls` (undefined in a cluster worker, or when no store is open). */
  readonly control: ControlPlane | undefined;
  stats(): {
    calls: number;
    dialogs: number;
    clientTransactions: number;
    serverTransactions: number;
    tcpConnections: number;
    certCacheEntries?: number;
    overload: OverloadFigures;
  };
  /**
   * SIGTERM (src/app/drain.ts): new INVITEs and OPTIONS get 503, calls go on until they end or
   * `drain_timeout_s`, then both legs get a BYE. Resolves when done; `close()` follows.
   */
  drain(): Promise<DrainOutcome>;
  /** A second SIGTERM: BYE every call now and let `drain()` resolve without waiting for answers. */
  drainNow(): void;
  close(): Promise<void>;
}

/**
 * The composition root's body: state -> STIR services -> SIP stack -> routing and hook chains -> B2BUA ->
 * metrics -> listen. Each step is a factory in src/app/; everything here runs once at start, and nothing on
 * the per-call path does I/O synchronously. A failure closes what was opened and names the key or file.
 */
export async function startStirgate(
  input: Config,
  logger: Logger,
  worker?: WorkerSeams,
  source?: ConfigSource,
): Promise<Stirgate> {
  const closers = new Closers();
  try {
    const { config, devPki } = await prepareState(input);
    // What reloads replace (src/app/reload.ts); anything that reads the configuration at run time reads this.
    const liveConfig = new LiveValue(config);
    const roles = rolesOf(config);
    // Before anything opens: a missing or bad do-not-originate file is a configuration error.
    let startDno: readonly string[] | undefined = await loadDnoFile(config.policy.dnoFile);
    const signing = roles.has('originating')
      ? await startSigning(config, devPki, closers, logger)
      : undefined;
    const verification = roles.has('terminating')
      ? await createVerification(config, devPki, worker?.replay)
      : undefined;

    // Before the B2BUA: the writer subscribes before the first call, and (closers run last first) it
    // flushes after the B2BUA has ended its calls and published their ends.
    const recordKeys = new RecordKeys();
    const traceback = await startTraceback(config, logger, worker, recordKeys);
    if (traceback !== undefined) closers.add(() => traceback.close());
    // After the traceback store (it migrates the file first). A worker's controls come from its primary.
    const control =
      worker === undefined
        ? await startControlPlane(config, logger, closers, () => liveConfig.current)
        : undefined;
    const controls = worker?.controls ?? control?.controls ?? new LiveValue<Controls>(EMPTY_CONTROLS);
    // One process counts in place; a cluster worker asks its primary, which counts for the element.
    const localCounters = worker === undefined ? new LocalAdmissionCounters() : undefined;
    const admission: AdmissionCounters = localCounters ?? worker!.admission;

    const { transport, transactions } = createSipStack(config, closers, worker);
    // Built the same way at start and on each reload (routing, unmatched policy, hook chains, call limit).
    // The do-not-originate file is read again on each reload, before the swap (the one read above at start).
    const hookChains: HookChainsBuilder = async (c) => {
      const dno = startDno ?? (await loadDnoFile(c.policy.dnoFile));
      startDno = undefined;
      return buildHookChains(c, signing?.signer, verification?.verifier, {
        controls,
        counters: admission,
        dno,
      });
    };
    const workers = worker?.workers ?? 1;
    // Overload control: measured per event loop, so each cluster worker sheds for itself.
    const overload = new OverloadDetector(
      config.overload,
      logger,
      config.overload.udpBacklog ? new UdpBacklog(() => transport.udpReceiveBuffers()) : undefined,
    );
    closers.add(() => overload.stop());
    const b2bua = new B2bua({
      ...(await buildCallRouting(config, hookChains, workers)),
      transactions,
      localEndpoint: localEndpoints(transport),
      logger,
      maxForwards: config.sip.maxForwards,
      userAgent: config.sip.userAgent,
      ackTimeoutMs: 64 * config.sip.timers.t1Ms,
      sessionTimers: config.sip.sessionTimers,
      maxCallDurationMs: config.sip.maxCallDurationS * 1000,
      ...(worker !== undefined ? { newCallId: worker.newCallId } : {}),
      recordKeys,
      shedder: overload,
    });
    transactions.setUser(b2bua);
    // A lost TCP connection ends the calls it carried (src/b2bua/call-reaper.ts).
    transport.onConnectionClosed((closed) => b2bua.connectionClosed(closed));
    closers.add(() => b2bua.close());
    const reloader = new Reloader({
      live: liveConfig,
      source,
      startedRoles: roles,
      apply: async (next) => {
        try {
          b2bua.reconfigure(await buildCallRouting(next, hookChains, workers));
        } catch (err) {
          // A do-not-originate file that is missing or bad: its problems, with the key's path and line.
          if (err instanceof ConfigError)
            return err.problems.map((p) => ({
              path: p.path,
              message: p.message,
              ...(p.line !== undefined ? { line: p.line } : {}),
            }));
          throw err;
        }
        return [];
      },
      logger,
    });

    const stats = elementStats(b2bua, transactions, transport, verification?.certCache, overload);
    const drain = new Drain(
      {
        startDrain: (s) => b2bua.startDrain(s),
        hangUpAll: () => b2bua.hangUpAll(),
        calls: () => b2bua.stats().calls,
      },
      logger,
    );
    const metricsUrl = await startMetricsService(config, stats, closers, logger, worker, traceback?.metrics);
    // The admin API: the traceback store and the controls; in cluster mode the primary runs it.
    const adminUrl =
      worker === undefined && (traceback?.store !== undefined || control !== undefined)
        ? await startAdminService(
            config,
            {
              ...(traceback?.store !== undefined ? { traceback: traceback.store } : {}),
              ...(control !== undefined
                ? {
                    control: {
                      plane: control,
                      customers: customerSources(
                        () => liveConfig.current,
                        () => localCounters?.figures() ?? [],
                      ),
                      reload: () => reloader.reload(),
                    },
                  }
                : {}),
            },
            closers,
            logger,
          )
        : undefined;
    const endpoints = await listenSip(transport, config);
    overload.start();
    const x5u = signing?.x5u;
    logger.info(
      { endpoints: endpoints.map((e) => `${e.protocol}:${e.local.address}:${e.local.port}`), x5u },
      'stirgate listening',
    );
    return {
      config,
      liveConfig,
      reload: (next) => reloader.reload(next),
      endpoints,
      x5u,
      metricsUrl,
      adminUrl,
      traceback: traceback?.store,
      controls,
      admission,
      control,
      stats,
      drain: () =>
        drain.run(liveConfig.current.drainTimeoutS * 1000, liveConfig.current.overload.retryAfterS),
      drainNow: () => drain.now(),
      close: () => closers.closeAll(),
    };
  } catch (err) {
    await closers.closeAll();
    throw err;
  }
}

/** Traceback records: the store and its writer here, or in a cluster worker a writer forwarding to the primary. */
async function startTraceback(
  config: Config,
  logger: Logger,
  worker: WorkerSeams | undefined,
  keys: RecordKeys,
): Promise<TracebackService | undefined> {
  if (!config.traceback.enabled) return undefined;
  const owns = (key: string) => keys.owns(key);
  if (worker !== undefined) return startTracebackForwarder(config, logger, worker.traceback, owns);
  return startTracebackStore(config, logger, { owns });
}

function elementStats(
  b2bua: B2bua,
  transactions: { stats(): { client: number; server: number } },
  transport: TransportLayer,
  certCache: CertCache | undefined,
  overload: OverloadDetector,
): Stirgate['stats'] {
  return () => {
    const b = b2bua.stats();
    const t = transactions.stats();
    return {
      calls: b.calls,
      dialogs: b.dialogs,
      clientTransactions: t.client,
      serverTransactions: t.server,
      tcpConnections: transport.stats().tcpConnections,
      ...(certCache !== undefined ? { certCacheEntries: certCache.size } : {}),
      overload: overload.figures(),
    };
  };
}
