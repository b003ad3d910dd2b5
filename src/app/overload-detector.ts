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
}

/**
 * Measures the event loop every `sample_ms` and keeps the share of new INVITEs to refuse (src/policy/
 * overload.ts). Two signals, both read from perf_hooks without I/O: utilisation (the share of the period
 * the loop was busy; it reaches 1 before the UDP receive buffer starts to overflow, because a loop that
 * keeps up is idle between datagrams) and lateness (a histogram of how late a 10 ms timer fired: long tasks,
 * GC pauses). The socket backlog itself is not readable from Node without a syscall per sample (GAP).
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

  constructor(c: OverloadConfig, log: Logger) {
    this.#c = c;
    this.#log = log;
    this.#limits = {
      enabled: c.enabled,
      eluHigh: c.eluHighPercent / 100,
      eluLow: c.eluLowPercent / 100,
      lagHighMs: c.lagHighMs,
    };
  }

  start(): void {
    if (!this.#c.enabled || this.#timer !== undefined) return;
    this.#delay.enable();
    this.#elu = performance.eventLoopUtilization();
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
    };
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
    this.#state = nextOverloadState(this.#state, { elu, lagMs }, this.#limits);
    const fraction = this.#state.fraction;
    // One line when shedding starts and one when it stops: never per INVITE.
    if (prev === 0 && fraction > 0)
      this.#log.warn(
        { event: 'overload_shedding', elu, lagMs },
        'overloaded: refusing a share of new INVITEs (503)',
      );
    else if (prev > 0 && fraction === 0)
      this.#log.info({ event: 'overload_ended', shed: this.#shed }, 'no longer overloaded');
  }
}
