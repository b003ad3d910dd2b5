import type { Worker } from 'node:cluster';
import { logReloadOutcome, type ReloadOutcome, type ReloadProblem } from '../app/reload.js';
import type { Stirgate } from '../app.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { PrimaryToWorker, WorkerToPrimary } from './protocol.js';

/** How long the primary waits for a worker's `sg:reloaded` before counting its reload as failed. */
const RELOAD_TIMEOUT_MS = 10_000;

/** A worker the primary can reach, with its slot index (the log's and the problems' `worker`). */
export interface ReloadTarget {
  readonly index: number;
  readonly worker: Worker;
}

/**
 * The primary's side of a cluster reload: the configuration it validated goes to every worker (`sg:reload`),
 * and each worker's outcome comes back (`sg:reloaded`). A worker that refuses, cannot be reached or does not
 * answer in time is one problem, `workers[<index>]`.
 */
export class ReloadRelay {
  readonly #pending = new Map<number, (outcome: ReloadOutcome) => void>();
  #nextId = 0;

  /** Resolves with the problems of the workers that did not apply `config` (empty: all did). */
  async broadcast(targets: readonly ReloadTarget[], config: Config): Promise<ReloadProblem[]> {
    const outcomes = await Promise.all(targets.map((t) => this.#send(t.worker, config)));
    const problems: ReloadProblem[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.ok) return;
      const index = targets[i]!.index;
      for (const p of outcome.problems)
        problems.push({ path: `workers[${index}]`, message: `worker ${index}: ${p.path}: ${p.message}` });
    });
    return problems;
  }

  /** A worker's `sg:reloaded`. */
  answered(msg: WorkerToPrimary & { t: 'sg:reloaded' }): void {
    this.#pending.get(msg.id)?.(msg.outcome);
  }

  #send(worker: Worker, config: Config): Promise<ReloadOutcome> {
    if (!worker.isConnected()) return Promise.resolve(failed('not connected to the primary'));
    const id = ++this.#nextId;
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => done(failed(`no answer within ${RELOAD_TIMEOUT_MS} ms`)),
        RELOAD_TIMEOUT_MS,
      );
      const done = (outcome: ReloadOutcome): void => {
        clearTimeout(timer);
        this.#pending.delete(id);
        resolve(outcome);
      };
      this.#pending.set(id, done);
      worker.send({ t: 'sg:reload', id, config } satisfies PrimaryToWorker);
    });
  }
}

function failed(message: string): ReloadOutcome {
  return { ok: false, problems: [{ path: '(worker)', message }] };
}

/**
 * The worker's side: apply the primary's configuration to the running element and answer with the outcome.
 * A refusal is logged here (the primary reports it too): the worker keeps serving its running configuration.
 */
export async function reloadFromPrimary(
  app: Stirgate | undefined,
  msg: PrimaryToWorker & { t: 'sg:reload' },
  logger: Logger,
): Promise<WorkerToPrimary & { t: 'sg:reloaded' }> {
  let outcome: ReloadOutcome;
  try {
    outcome = app === undefined ? failed('not started yet') : await app.reload(msg.config);
  } catch (err) {
    outcome = failed(err instanceof Error ? err.message : String(err));
  }
  if (!outcome.ok) logReloadOutcome(logger, outcome, 'primary');
  return { t: 'sg:reloaded', id: msg.id, outcome };
}
