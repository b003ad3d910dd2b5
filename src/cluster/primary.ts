import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { startAdminService } from '../app/admin-service.js';
import { Closers } from '../app/closers.js';
import { customerSources, startControlPlane } from '../app/control-service.js';
import { BYE_WAIT_MS } from '../app/drain.js';
import { type ConfigSource, logReloadOutcome, Reloader, type ReloadOutcome } from '../app/reload.js';
import { rolesOf } from '../app/state.js';
import { startTracebackStore } from '../app/traceback-service.js';
import { prepareState, StartupError } from '../app.js';
import type { LocalAdmissionCounters } from '../b2bua/local-admission-counters.js';
import type { Config } from '../config/index.js';
import type { ControlPlane } from '../control/control-plane.js';
import type { Logger } from '../log/logger.js';
import { createTracebackMetrics, metricsHandler } from '../metrics/start-metrics.js';
import { type Controls, EMPTY_CONTROLS, LiveValue } from '../policy/controls.js';
import { MemoryReplayStore } from '../stir/replay-store.js';
import type { TracebackStore } from '../traceback/store.js';
import { recordWorkerKeys } from './broadcast-replay-store.js';
import { ElementAdmission } from './element-admission.js';
import {
  ENV_CLUSTER_TOKEN,
  ENV_WORKER_INDEX,
  isClusterMessage,
  type PrimaryToWorker,
  type WorkerToPrimary,
} from './protocol.js';
import { ReloadRelay, type ReloadTarget } from './reload-relay.js';

/** How long a scrape waits for a worker's registry before leaving that worker out. */
const METRICS_TIMEOUT_MS = 5_000;
/** How long a stopping worker gets before it is killed. */
const STOP_GRACE_MS = 10_000;
/** Restart back-off after a worker dies: doubles from the first value, capped, reset after a stable minute. */
const RESTART_FIRST_MS = 500;
const RESTART_MAX_MS = 30_000;
const STABLE_MS = 60_000;

interface Slot {
  readonly index: number;
  worker: Worker | undefined;
  port: number;
  ready: boolean;
  startedAt: number;
  backoffMs: number;
  restartTimer: NodeJS.Timeout | undefined;
  /** The controls version the worker last said it applied (`sg:controls_applied`). */
  controlsVersion: number;
}

export interface ClusterHandle {
  /** Resolves with the exit code: 0 after a requested stop, 1 when start-up failed. */
  readonly done: Promise<number>;
  /** The traceback store every worker's records reach, for queries; undefined when traceback is off. */
  readonly traceback: TracebackStore | undefined;
  /** The configuration the workers run: replaced as a whole by each reload that applies. */
  readonly liveConfig: LiveValue<Config>;
  /**
   * Re-read the configuration file, validate it here once, then have every ready worker apply it
   * (`sg:reload`); refused with every problem (a worker that fails is one, `workers[<index>]`).
   */
  reload(): Promise<ReloadOutcome>;
  /** The admin API's URL when `admin.listen` is set. */
  readonly adminUrl: string | undefined;
  /** The operator controls every worker is sent (`sg:controls`) on each change. */
  readonly controls: LiveValue<Controls>;
  /** The control plane (undefined when no control store is open: admin off and no file). */
  readonly control: ControlPlane | undefined;
  /** The element-wide admission counters (every worker's calls). */
  readonly admission: LocalAdmissionCounters;
  /** Per worker slot, the controls version its call path reads (-1 while it starts). */
  workerControlsVersions(): number[];
  /** SIGTERM: every worker drains (src/app/drain.ts), then all exit. */
  stop(): void;
  /** A second SIGTERM: every worker BYEs its calls and exits at once. */
  stopNow(): void;
}

/**
 * The cluster primary (`workers` > 1): prepares data_dir, forks one SIP worker per slot (worker.ts), tells
 * every worker the others' forwarding ports, keeps the replay store they share (RFC 8224 §6.2.1) and the one
 * traceback store (workers send their batches of records, `sg:traceback`; the last ones are stored after
 * every worker has exited), serves `/metrics` with every worker's registry summed (prom-client
 * AggregatorRegistry) and `/healthz`, restarts a worker that dies, and stops them all on SIGINT/SIGTERM. It
 * handles no SIP itself.
 *
 * A worker that fails before every worker was ready fails the start (the worker prints why; exit code 1).
 * Calls held by a worker that dies are lost with it; its slot's Call-IDs are dropped, not taken over, until
 * the replacement is up (UDP retransmissions then reach it).
 */
export async function runPrimary(
  input: Config,
  logger: Logger,
  source?: ConfigSource,
): Promise<ClusterHandle> {
  const { config } = await prepareState(input);
  const token = randomBytes(8);
  const replay = new MemoryReplayStore({ max: config.stir.verification.replay.maxEntries });
  // The one traceback store: workers send their batches (sg:traceback), this writer stores them.
  const traceback = config.traceback.enabled ? await startTracebackStore(config, logger, {}) : undefined;
  // The element-wide counters behind the customer limits: workers lease batches (sg:lease), this counts.
  const admission = new ElementAdmission();
  // The control plane and the admin API (never in a SIP worker), after the traceback store (it migrates
  // the file first).
  const adminClosers = new Closers();
  // The configuration the workers run (replaced by each reload that applies); the admin API reads it.
  const liveConfig = new LiveValue(config);
  let plane: ControlPlane | undefined;
  let adminUrl: string | undefined;
  try {
    plane = await startControlPlane(config, logger, adminClosers, () => liveConfig.current);
    if (traceback?.store !== undefined || plane !== undefined) {
      adminUrl = await startAdminService(
        config,
        {
          ...(traceback?.store !== undefined ? { traceback: traceback.store } : {}),
          ...(plane !== undefined
            ? {
                control: {
                  plane,
                  customers: customerSources(
                    () => liveConfig.current,
                    () => admission.figures(),
                  ),
                  // Called only once the workers run (the reloader is made below).
                  reload: () => reloader.reload(),
                },
              }
            : {}),
        },
        adminClosers,
        logger,
      );
    }
  } catch (err) {
    await adminClosers.closeAll();
    await traceback?.close();
    throw err;
  }
  const controls = plane?.controls ?? new LiveValue<Controls>(EMPTY_CONTROLS);
  const slots: Slot[] = Array.from({ length: config.workers }, (_, index) => ({
    index,
    worker: undefined,
    port: 0,
    ready: false,
    startedAt: 0,
    backoffMs: RESTART_FIRST_MS,
    restartTimer: undefined,
    controlsVersion: -1,
  }));
  let started = false;
  let stopping = false;
  const relay = new ReloadRelay();
  const reachable = (list: readonly Slot[]): ReloadTarget[] =>
    list.flatMap((s) => (s.ready && s.worker !== undefined ? [{ index: s.index, worker: s.worker }] : []));
  const reloader = new Reloader({
    live: liveConfig,
    source,
    startedRoles: rolesOf(config),
    apply: (merged) => relay.broadcast(reachable(slots), merged),
    logger,
  });
  let settle: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    settle = resolve;
  });

  // --- metrics of the primary itself, next to the workers' sums
  const own = new Registry();
  new Gauge({
    name: 'stirgate_cluster_workers',
    help: 'Cluster mode: SIP worker processes, by state (ready, starting).',
    labelNames: ['state'] as const,
    registers: [own],
    collect() {
      const ready = slots.filter((s) => s.ready).length;
      this.set({ state: 'ready' }, ready);
      this.set({ state: 'starting' }, slots.length - ready);
    },
  });
  const restarts = new Counter({
    name: 'stirgate_cluster_worker_restarts_total',
    help: 'Cluster mode: SIP workers restarted after they exited unexpectedly.',
    registers: [own],
  });
  // Summed with the workers' own traceback series (their queues and drops) rather than merged: same names.
  const tracebackRegistry = new Registry();
  createTracebackMetrics(tracebackRegistry, traceback?.metrics);

  const pendingMetrics = new Map<number, (m: readonly object[] | undefined) => void>();
  let nextMetricsId = 0;
  const workerMetrics = (slot: Slot): Promise<readonly object[] | undefined> => {
    const w = slot.worker;
    if (w === undefined || !slot.ready || !w.isConnected()) return Promise.resolve(undefined);
    const id = ++nextMetricsId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        pendingMetrics.delete(id);
        resolve(undefined);
      }, METRICS_TIMEOUT_MS);
      pendingMetrics.set(id, (m) => {
        clearTimeout(timer);
        pendingMetrics.delete(id);
        resolve(m);
      });
      w.send({ t: 'sg:metrics', id } satisfies PrimaryToWorker);
    });
  };

  const handler = metricsHandler({
    exposition: async () => {
      const perWorker = await Promise.all(slots.map(workerMetrics));
      const all = perWorker.filter((m): m is readonly object[] => m !== undefined);
      all.push(await tracebackRegistry.getMetricsAsJSON());
      const summed = AggregatorRegistry.aggregate<typeof own.contentType>(all.map((m) => [...m]));
      return { body: await Registry.merge([summed, own]).metrics(), contentType: own.contentType };
    },
    health: () => {
      const ready = slots.filter((s) => s.ready).length;
      return {
        status: ready > 0 ? 200 : 503,
        body: `${ready > 0 ? 'ok' : 'unavailable'} ${ready}/${slots.length} workers ready\n`,
      };
    },
    logger,
  });

  let server: Server | undefined;
  const ml = config.metrics.listen;
  if (ml !== undefined) {
    server = createServer(handler);
    server.requestTimeout = 10_000;
    server.keepAliveTimeout = 65_000;
    await new Promise<void>((resolve, reject) => {
      server!.once('error', (cause: Error) =>
        reject(
          new StartupError(
            'listen',
            `metrics.listen: cannot listen on ${ml.address}:${ml.port}: ${cause.message}`,
            {
              cause,
            },
          ),
        ),
      );
      server!.listen(ml.port, ml.address, () => resolve());
    }).catch(async (err: unknown) => {
      await adminClosers.closeAll();
      await traceback?.close();
      throw err;
    });
    const port = (server.address() as AddressInfo).port;
    const host = ml.address.includes(':') ? `[${ml.address}]` : ml.address;
    logger.info(
      { url: `http://${host}:${port}/metrics`, event: 'metrics_listening' },
      'serving Prometheus metrics',
    );
  }

  // Every change reaches every worker as a whole value (docs/operations.md: within a second, no restart).
  controls.subscribe((c) => {
    for (const s of slots) {
      if (s.worker?.isConnected() === true)
        s.worker.send({ t: 'sg:controls', controls: c } satisfies PrimaryToWorker);
    }
  });

  const broadcastPeers = (): void => {
    const ports = slots.map((s) => s.port);
    for (const s of slots) {
      if (s.worker?.isConnected() === true) s.worker.send({ t: 'sg:peers', ports } satisfies PrimaryToWorker);
    }
  };

  const fail = (why: string): void => {
    if (stopping) return;
    logger.fatal({ event: 'cluster_start_failed' }, why);
    console.error(`stirgate: ${why}`);
    stopAll(1);
  };

  const fork = (slot: Slot): void => {
    slot.restartTimer = undefined;
    slot.port = 0;
    slot.ready = false;
    slot.controlsVersion = -1;
    slot.startedAt = Date.now();
    const w = cluster.fork({
      [ENV_WORKER_INDEX]: String(slot.index),
      [ENV_CLUSTER_TOKEN]: token.toString('hex'),
    });
    slot.worker = w;
    // A send racing the worker's exit fails with EPIPE on this emitter; the 'exit' handler does the rest.
    w.on('error', (err) => logger.debug({ worker: slot.index, err }, 'IPC to worker failed'));
    w.on('message', (m: unknown) => {
      if (!isClusterMessage(m)) return;
      const msg = m as WorkerToPrimary;
      switch (msg.t) {
        case 'sg:forward_port':
          slot.port = msg.port;
          // A restarted worker's copy of the replay store, before it takes calls (IPC keeps the order).
          sendReplaySnapshot(w, replay);
          // Before the peers: the worker starts its element only once it has both.
          w.send({ t: 'sg:controls', controls: controls.current } satisfies PrimaryToWorker);
          // First start: peers once every worker has a port; a restart: tell everyone at once.
          if (started || slots.every((s) => s.port !== 0)) broadcastPeers();
          break;
        case 'sg:ready':
          slot.ready = true;
          logger.info({ worker: slot.index, pid: w.process.pid, endpoints: msg.endpoints }, 'worker ready');
          // A worker (re)started after a reload read the file at its start: give it the configuration the others run.
          if (liveConfig.current !== config)
            void relay.broadcast(reachable([slot]), liveConfig.current).then((problems) => {
              if (problems.length > 0) logReloadOutcome(logger, { ok: false, problems }, 'worker_restart');
            });
          if (!started && slots.every((s) => s.ready)) {
            started = true;
            logger.info({ workers: slots.length, endpoints: msg.endpoints }, 'stirgate listening (cluster)');
          }
          break;
        case 'sg:startup_failed':
          if (!started) fail(`worker ${slot.index} failed to start: ${msg.message}`);
          break;
        case 'sg:replay': {
          const seen = replay.seen(msg.key, msg.ttlMs);
          if (w.isConnected()) w.send({ t: 'sg:replay', id: msg.id, seen } satisfies PrimaryToWorker);
          break;
        }
        case 'sg:replay_seen': {
          const late = recordWorkerKeys(replay, msg);
          if (late.length > 0) {
            logger.warn(
              { worker: slot.index, keys: late, event: 'late_replay' },
              'PASSporT used in two workers before its first use reached the second (each set up a call)',
            );
            if (w.isConnected())
              w.send({ t: 'sg:replay_late', count: late.length } satisfies PrimaryToWorker);
          }
          const learn = { t: 'sg:replay_learn', keys: msg.keys, ttlMs: msg.ttlMs } satisfies PrimaryToWorker;
          // Every worker that has had its snapshot (it sent its forwarding port), ready or still starting.
          for (const other of slots)
            if (other !== slot && other.port !== 0 && other.worker?.isConnected()) other.worker.send(learn);
          break;
        }
        case 'sg:metrics':
          pendingMetrics.get(msg.id)?.(msg.metrics);
          break;
        case 'sg:traceback':
          traceback?.writer.acceptAll(msg.batch);
          break;
        case 'sg:reloaded':
          relay.answered(msg);
          break;
        case 'sg:controls_applied':
          slot.controlsVersion = msg.version;
          break;
        case 'sg:lease': {
          const result = admission.lease(slot.index, msg.customer, msg.limits, msg.want);
          if (w.isConnected()) w.send({ t: 'sg:lease', id: msg.id, result } satisfies PrimaryToWorker);
          break;
        }
        case 'sg:lease_return':
          admission.returnLease(slot.index, msg.customer, msg.tokens, msg.slots, msg.admitted, msg.active);
          break;
        case 'sg:refused':
          admission.refused(msg.customer, msg.cause);
          break;
      }
    });
    w.on('exit', (code, signal) => {
      if (slot.worker !== w) return;
      slot.worker = undefined;
      slot.port = 0;
      slot.ready = false;
      slot.controlsVersion = -1;
      // Its calls are gone with it: so are the concurrent slots they held.
      const released = admission.workerGone(slot.index);
      if (released > 0)
        logger.info({ worker: slot.index, released }, 'exited worker released its call slots');
      if (stopping) {
        if (slots.every((s) => s.worker === undefined)) finish();
        return;
      }
      if (!started) {
        fail(`worker ${slot.index} exited during start-up (code ${code}, signal ${signal ?? 'none'})`);
        return;
      }
      broadcastPeers(); // the others drop its datagrams instead of forwarding into the void
      if (Date.now() - slot.startedAt > STABLE_MS) slot.backoffMs = RESTART_FIRST_MS;
      const delay = slot.backoffMs;
      slot.backoffMs = Math.min(RESTART_MAX_MS, slot.backoffMs * 2);
      restarts.inc();
      logger.error(
        { worker: slot.index, pid: w.process.pid, code, signal, restartInMs: delay, event: 'worker_exited' },
        'worker exited; its calls are lost; restarting it',
      );
      slot.restartTimer = setTimeout(() => fork(slot), delay);
    });
  };

  let exitCode = 0;
  let killTimer: NodeJS.Timeout | undefined;
  const finish = (): void => {
    if (killTimer !== undefined) clearTimeout(killTimer);
    const closing =
      server === undefined ? Promise.resolve() : new Promise<void>((r) => server!.close(() => r()));
    server?.closeAllConnections();
    // Every worker has exited (their last batches arrived before their exit): store what is queued.
    const stored = adminClosers.closeAll().then(() => traceback?.close());
    Promise.all([closing, stored]).then(
      () => settle(exitCode),
      () => settle(exitCode),
    );
  };
  const killAfter = (ms: number): void => {
    if (killTimer !== undefined) clearTimeout(killTimer);
    killTimer = setTimeout(() => {
      for (const s of slots) s.worker?.process.kill('SIGKILL');
    }, ms);
    killTimer.unref();
  };
  /** The first call drains every worker (src/app/drain.ts); a later one (`now`) ends them at once. */
  const stopAll = (code: number, now = false): void => {
    if (stopping && !now) return;
    const again = stopping;
    stopping = true;
    if (!again) exitCode = code;
    for (const s of slots) {
      if (s.restartTimer !== undefined) clearTimeout(s.restartTimer);
      if (s.worker?.isConnected() === true) s.worker.send({ t: 'sg:stop', now } satisfies PrimaryToWorker);
      else s.worker?.kill('SIGTERM');
    }
    if (slots.every((s) => s.worker === undefined)) {
      if (!again) finish();
      return;
    }
    // A draining worker may take drain_timeout_s, then BYE_WAIT_MS for its BYEs' answers.
    killAfter(now ? STOP_GRACE_MS : liveConfig.current.drainTimeoutS * 1000 + BYE_WAIT_MS + STOP_GRACE_MS);
  };

  for (const s of slots) fork(s);
  return {
    done,
    traceback: traceback?.store,
    liveConfig,
    reload: () => reloader.reload(),
    adminUrl,
    controls,
    control: plane,
    admission: admission.counters,
    workerControlsVersions: () => slots.map((s) => s.controlsVersion),
    stop: () => stopAll(0),
    stopNow: () => stopAll(0, true),
  };
}

/** Keys per `sg:replay_snapshot` message: a full store (100,000 keys by default) goes in a few messages. */
const SNAPSHOT_CHUNK = 10_000;

function sendReplaySnapshot(w: Worker, replay: MemoryReplayStore): void {
  const entries = replay.entries();
  for (let i = 0; i < entries.length; i += SNAPSHOT_CHUNK) {
    const chunk = entries.slice(i, i + SNAPSHOT_CHUNK);
    w.send({ t: 'sg:replay_snapshot', entries: chunk } satisfies PrimaryToWorker);
  }
}
