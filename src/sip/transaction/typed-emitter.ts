import { reportHandlerError } from './transaction-events.js';

// biome-ignore lint/suspicious/noExplicitAny: listener signatures vary per event map
type Listener = (...args: any[]) => void;

/**
 * A small typed event emitter. Emitting never throws: a listener that throws is reported on
 * `stirgate:transaction:handler_error` and the remaining listeners still run, so a TU bug cannot leave
 * a state machine half-way through a transition (and cannot leak its timers).
 */
export class TypedEmitter<E extends { [K in keyof E]: Listener }> {
  #listeners: { [K in keyof E]?: Array<{ fn: E[K]; once: boolean }> } = {};

  on<K extends keyof E>(event: K, listener: E[K]): this {
    this.#add(event, listener, false);
    return this;
  }

  once<K extends keyof E>(event: K, listener: E[K]): this {
    this.#add(event, listener, true);
    return this;
  }

  #add<K extends keyof E>(event: K, fn: E[K], once: boolean): void {
    const list = this.#listeners[event];
    if (list === undefined) this.#listeners[event] = [{ fn, once }];
    else list.push({ fn, once });
  }

  off<K extends keyof E>(event: K, listener: E[K]): this {
    const list = this.#listeners[event];
    if (list === undefined) return this;
    const i = list.findIndex((l) => l.fn === listener);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.#listeners[event]?.length ?? 0;
  }

  /** Drop every listener (after `terminated`, so a finished transaction holds no closures). */
  protected removeAllListeners(): void {
    this.#listeners = {};
  }

  /**
   * Drop the listeners of every event except `events`: a state that can no longer emit an event does not
   * keep its closures (and what they captured) alive through a wait state.
   */
  protected keepListenersOf(...events: Array<keyof E>): void {
    const kept: { [K in keyof E]?: Array<{ fn: E[K]; once: boolean }> } = {};
    for (const e of events) {
      const list = this.#listeners[e];
      if (list !== undefined && list.length > 0) kept[e] = list;
    }
    this.#listeners = kept;
  }

  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const list = this.#listeners[event];
    if (list === undefined || list.length === 0) return;
    for (const l of list.slice()) {
      if (l.once) {
        const i = list.indexOf(l);
        if (i >= 0) list.splice(i, 1);
      }
      try {
        l.fn(...args);
      } catch (err) {
        reportHandlerError(String(event), err);
      }
    }
  }
}
