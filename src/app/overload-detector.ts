import { type EventLoopUtilization, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { InviteShedder } from '../b2bua/invite-shedder.js';
import type { OverloadConfig } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import {
  CALM,
  nextOverloadState,
  type OverloadLimits,
  type OverloadState,
  retryAfterSeconds,
  shouldShed,
} from '../policy/overload.js';
import type { UdpBacklog } from './udp-backlog.js';

/** What /metrics reads at scrape time (src/metrics/overload-metrics.ts). */
export interface OverloadFigures {
  /** New INVITEs refused because of overload, since start. */
  readonly shed: number;
  /** The share of new INVITEs refused now, 0..1. */
  readonly fraction: number;
  /** Event-loop utilisation over the last sample, 0..1. */
  readonly elu: number;
  /** Largest event-loop lateness over the last sample, seconds. */
  readonly lagSeconds: number;
  /** The fullest UDP socket's receive queue at the last reading, 0..1 of its buffer (0 when unread). */
  readonly backlog: number;
}

/**
 * Measures the event loop every `sample_ms` and keeps the share of new INVITEs to refuse (src/policy/
 * overload.ts). Three signals: utilisation (the share of the period the loop was busy), lateness (a
 * histogram of how late a 10 ms timer fired: long tasks, GC pauses), both from perf_hooks, and the UDP
 * receive backlog of the element's sockets (src/app/udp-backlog.ts: /proc/net/udp read once per sample,
 * asynchronously; the decision uses the last reading, at most one sample old).
 * The per-INVITE cost is one comparison and, when shedding, two Math.random draws.
 */
export class OverloadDetector implements InviteShedder {
  readonly #limits: OverloadLimits;
  readonly #c: OverloadConfig;
  readonly #log: Logger;
  readonly #delay = monitorEventLoopDelay({ resolution: 10 });
  #elu: EventLoopUtilization = performance.eventLoopUtilization();
  #timer: NodeJS.Timeout | undefined;
  #state: OverloadState = CALM;
  #shed = 0;
  #lastElu = 0;
  #lastLagMs = 0;
  readonly #backlogSource: UdpBacklog | undefined;
  /** The last backlog reading (one is read per sample, asynchronously, and used by the next sample). */
  #backlog: number | undefined;
  #reading = false;

  constructor(c: OverloadConfig, log: Logger, backlog?: UdpBacklog) {
    this.#c = c;
    this.#log = log;
    this.#backlogSource = backlog;
    this.#limits = {
      enabled: c.enabled,
      eluHigh: c.eluHighPercent / 100,
      eluLow: c.eluLowPercent / 100,
      lagHighMs: c.lagHighMs,
      backlogHigh: c.backlogHighPercent / 100,
      backlogLow: c.backlogLowPercent / 100,
    };
  }

  start(): void {
    if (!this.#c.enabled || this.#timer !== undefined) return;
    this.#delay.enable();
    this.#elu = performance.eventLoopUtilization();
    this.#readBacklog();
    this.#timer = setInterval(() => this.#sample(), this.#c.sampleMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#delay.disable();
  }

  /** RFC 3261 §21.5.4: the Retry-After (seconds) when this new INVITE is to be refused, else undefined. */
  shed(): number | undefined {
    const fraction = this.#state.fraction;
    if (fraction === 0 || !shouldShed(fraction, Math.random())) return undefined;
    this.#shed++;
    return retryAfterSeconds(this.#c.retryAfterS, this.#c.retryAfterJitterS, Math.random());
  }

  figures(): OverloadFigures {
    return {
      shed: this.#shed,
      fraction: this.#state.fraction,
      elu: this.#lastElu,
      lagSeconds: this.#lastLagMs / 1000,
      backlog: this.#backlog ?? 0,
    };
  }

  /** Starts the next backlog reading unless one is still out (a slow /proc read never piles up). */
  #readBacklog(): void {
    const source = this.#backlogSource;
    if (source === undefined || this.#reading) return;
    this.#reading = true;
    source.read().then(
      (b) => {
        this.#backlog = b;
        this.#reading = false;
      },
      () => {
        this.#backlog = undefined;
        this.#reading = false;
      },
    );
  }

  #sample(): void {
    const now = performance.eventLoopUtilization();
    const elu = performance.eventLoopUtilization(now, this.#elu).utilization;
    this.#elu = now;
    // Lateness beyond the timer's own resolution, in ms (the histogram is in ns).
    const lagMs = Math.max(0, this.#delay.max / 1e6 - 10);
    this.#delay.reset();
    this.#lastElu = elu;
    this.#lastLagMs = lagMs;
    const prev = this.#state.fraction;
    const backlog = this.#backlog;
    this.#state = nextOverloadState(this.#state, { elu, lagMs, backlog }, this.#limits);
    this.#readBacklog();
    const fraction = this.#state.fraction;
    // One line when shedding starts and one when it stops: never per INVITE.
    if (prev === 0 && fraction > 0)
      this.#log.warn(
        { event: 'overload_shedding', elu, lagMs, backlog },
        'overloaded: refusing a share of new INVITEs (503)',
      );
    else if (prev > 0 && fraction === 0)
      this.#log.info({ event: 'overload_ended', shed: this.#shed }, 'no longer overloaded');
  }
}
