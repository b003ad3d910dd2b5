import type { Registry } from 'prom-client';
import { StartupError, type Stirgate, startStirgate, type WorkerSeams } from '../app.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { type Controls, EMPTY_CONTROLS, LiveValue } from '../policy/controls.js';
import { generateCallId } from '../sip/message/build.js';
import { BroadcastReplayStore, countLateReplays } from './broadcast-replay-store.js';
import { callIdOwnedBy } from './call-id-owner.js';
import { DatagramSteering } from './datagram-steering.js';
import { IpcAdmissionCounters } from './ipc-admission-counters.js';
import { IpcReplayStore } from './ipc-replay-store.js';
import {
  ENV_CLUSTER_TOKEN,
  ENV_WORKER_INDEX,
  isClusterMessage,
  type PrimaryToWorker,
  type WorkerToPrimary,
} from './protocol.js';
import { reloadFromPrimary } from './reload-relay.js';

/** A batch of traceback records to the primary; resolves once it is written to the IPC channel. */
function sendTraceback(batch: WorkerToPrimary & { t: 'sg:traceback' }): Promise<void> {
  return new Promise((resolve, reject) => {
    if (process.send === undefined || !process.connected) {
      reject(new Error('no IPC channel to the primary'));
      return;
    }
    process.send(batch, undefined, {}, (err: Error | null) => (err === null ? resolve() : reject(err)));
  });
}

function send(m: WorkerToPrimary): boolean {
  if (process.send === undefined || !process.connected) return false;
  process.send(m); // its false means a backlog, not a loss: the message is queued
  return true;
}

/**
 * A SIP worker of the cluster (forked by primary.ts): binds its forwarding socket, learns every worker's, then
 * runs the whole element on the shared SIP sockets with the cluster seams (app.ts `WorkerSeams`). Resolves
 * with the exit code once the primary says stop (or goes away). `logger` already names the worker.
 */
export async function runWorker(config: Config, logger: Logger): Promise<number> {
  const index = Number(process.env[ENV_WORKER_INDEX]);
  const token = Buffer.from(process.env[ENV_CLUSTER_TOKEN] ?? '', 'hex');
  const workers = config.workers;
  if (!Number.isInteger(index) || index < 0 || index >= workers || token.length !== 8) {
    console.error('stirgate: worker started without a valid cluster environment');
    return 1;
  }
  const steering = await DatagramSteering.open(index, workers, token);
  const replayConfig = config.stir.verification.replay;
  const replay =
    replayConfig.clusterCheck === 'ask_primary'
      ? new IpcReplayStore((m) => send(m))
      : new BroadcastReplayStore((m) => send(m), replayConfig.maxEntries);
  const admission = new IpcAdmissionCounters(send, workers);
  const controls = new LiveValue<Controls>(EMPTY_CONTROLS);
  let registry: Registry | undefined;
  let app: Stirgate | undefined;
  let stopping = false;

  let peersKnown: () => void = () => {};
  const peers = new Promise<void>((resolve) => {
    peersKnown = resolve;
  });
  let controlsKnown: () => void = () => {};
  const firstControls = new Promise<void>((resolve) => {
    controlsKnown = resolve;
  });
  const done = new Promise<number>((resolveDone) => {
    const stop = (code: number): void => {
      if (stopping) return;
      stopping = true;
      replay.close();
      admission.close();
      const closing = app?.close() ?? Promise.resolve();
      closing.then(
        () => steering.close().then(() => resolveDone(code)),
        () => resolveDone(code),
      );
    };
    // SIGTERM semantics in a worker (src/app/drain.ts): the first drains, the next ends at once.
    let draining = false;
    const drainThenStop = (): void => {
      if (stopping) return;
      if (draining) {
        app?.drainNow();
        return;
      }
      draining = true;
      if (app === undefined) stop(0);
      else
        app.drain().then(
          () => stop(0),
          () => stop(0),
        );
    };
    process.on('message', (m: unknown) => {
      if (!isClusterMessage(m)) return;
      const msg = m as PrimaryToWorker;
      switch (msg.t) {
        case 'sg:peers':
          steering.setPeers(msg.ports);
          peersKnown();
          break;
        case 'sg:replay':
          if (replay instanceof IpcReplayStore) replay.answer(msg.id, msg.seen);
          break;
        case 'sg:replay_learn':
          if (replay instanceof BroadcastReplayStore) replay.learn(msg.keys, msg.ttlMs);
          break;
        case 'sg:replay_late':
          countLateReplays(msg.count);
          break;
        case 'sg:replay_snapshot':
          if (replay instanceof BroadcastReplayStore) replay.learnEntries(msg.entries);
          break;
        case 'sg:controls':
          // Whole values, in the order sent; an older one (never expected on one channel) is ignored.
          if (msg.controls.version >= controls.current.version) controls.set(msg.controls);
          controlsKnown();
          // Operator changes are rare: one line each, so an operator can see every worker took it.
          logger.info(
            {
              event: 'controls_applied',
              version: controls.current.version,
              blocks: controls.current.blocks.length,
            },
            'operator controls applied',
          );
          send({ t: 'sg:controls_applied', version: controls.current.version });
          break;
        case 'sg:lease':
          admission.answer(msg.id, msg.result);
          break;
        case 'sg:metrics':
          if (registry === undefined) send({ t: 'sg:metrics', id: msg.id, error: 'not started' });
          else
            registry.getMetricsAsJSON().then(
              (metrics) => send({ t: 'sg:metrics', id: msg.id, metrics }),
              (err: unknown) => send({ t: 'sg:metrics', id: msg.id, error: String(err) }),
            );
          break;
        case 'sg:reload':
          void reloadFromPrimary(app, msg, logger).then(send);
          break;
        case 'sg:stop':
          drainThenStop();
          if (msg.now === true) app?.drainNow();
          break;
      }
    });
    // A reload is the primary's to coordinate (it validates the file once, then sends sg:reload); a hang-up
    // of the terminal reaches the whole process group and must not end a worker.
    process.on('SIGHUP', () => {});
    // The terminal's Ctrl-C reaches the whole process group: the primary coordinates the stop.
    process.on('SIGINT', () => {});
    process.on('SIGTERM', drainThenStop); // a service manager may signal the whole group
    process.once('disconnect', () => stop(0)); // the primary is gone
    process.on('error', () => {}); // an IPC send racing the primary's exit (EPIPE): 'disconnect' follows
    (async () => {
      send({ t: 'sg:forward_port', port: steering.port });
      await Promise.all([peers, firstControls]);
      if (stopping) return;
      const seams: WorkerSeams = {
        index,
        workers,
        steer: steering,
        attach: (transport) =>
          steering.attach((local, d, remote) => transport.receiveDatagram(local, d, remote)),
        newCallId: () => callIdOwnedBy(index, workers, generateCallId),
        replay,
        setRegistry: (r) => {
          registry = r;
        },
        traceback: (batch) => sendTraceback({ t: 'sg:traceback', batch }),
        controls,
        admission,
      };
      try {
        app = await startStirgate(config, logger, seams);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof StartupError)
          logger.fatal({ code: err.code, err: err.cause, worker: index }, message);
        send({ t: 'sg:startup_failed', message });
        stop(1);
        return;
      }
      if (stopping) {
        await app.close();
        return;
      }
      send({
        t: 'sg:ready',
        endpoints: app.endpoints.map((e) => `${e.protocol}:${e.local.address}:${e.local.port}`),
      });
    })().catch((err: unknown) => {
      send({ t: 'sg:startup_failed', message: String(err) });
      stop(1);
    });
  });
  return done;
}
