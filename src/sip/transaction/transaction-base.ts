import { detach } from '../message/detach.js';
import type { SipMessage, SipRequest, SipResponse } from '../message/message.js';
import { tallyTransactionTerminated } from '../message-tally.js';
import { type Flow, type Target, TransportError, type TransportProtocol } from '../transport/types.js';
import type { Clock, TimerHandle, TransactionTimers } from './timers.js';
import { TransactionError } from './transaction-error.js';
import {
  methodLabel,
  publish,
  type RetransmitReason,
  reportHandlerError,
  type TerminationCause,
  type TimeoutTimer,
  wants,
} from './transaction-events.js';
import { TypedEmitter } from './typed-emitter.js';
import type { TransactionTransport } from './types.js';

/** What a state machine needs from the layer that owns it. */
export interface TransactionContext {
  readonly transport: TransactionTransport;
  readonly clock: Clock;
  readonly timers: TransactionTimers;
  /** RFC 3261 §17.2.1: send 100 Trying when the TU is silent for `timers.trying`. */
  readonly autoTrying: boolean;
  /**
   * Wire bytes for a retransmission (the first transmission passes the message itself), in a buffer the
   * transaction may keep through its wait state.
   */
  serialize(msg: SipMessage): Buffer;
  /** Build a response to a request (100 Trying). */
  createResponse(req: SipRequest, status: number): SipResponse;
  /** Called once when a transaction reaches Terminated: drop it from every map. */
  release(tx: TransactionBase<never, string, TransactionInput>): void;
}

export interface TransactionInput {
  readonly kind: string;
}

/** A per-state transition table: for each state, what each input does. A missing entry means "ignore". */
export type TransitionTable<S extends string, I extends TransactionInput, T> = {
  readonly [St in S]: { readonly [K in I['kind']]?: (tx: T, input: Extract<I, { kind: K }>) => void };
};

type EventsWithTerminated = { terminated: () => void; transportError: (err: TransportError) => void };

/**
 * Shared machinery of the four RFC 3261 §17 state machines: the transition-table dispatch, named
 * timers, sending with transport-error reporting (§17.1.4, §17.2.4) and termination that releases
 * every timer, map entry and listener.
 */
export abstract class TransactionBase<
  // biome-ignore lint/suspicious/noExplicitAny: listener signatures vary per event map
  E extends EventsWithTerminated & { [K in keyof E]: (...args: any[]) => void },
  S extends string,
  I extends TransactionInput,
> extends TypedEmitter<E> {
  abstract readonly side: 'client' | 'server';
  readonly id: string;
  readonly method: string;
  readonly protocol: TransportProtocol;
  /** RFC 3261 §17.1.1.2 etc.: retransmissions and wait timers only on unreliable transports. */
  readonly reliable: boolean;
  protected readonly ctx: TransactionContext;
  #state: S;
  readonly #createdAt: number;
  /**
   * Armed timers as [name, handle, name, handle, ...] in the first `#armed` pairs: rarely more than two at a
   * time, and held by every transaction through its wait state, so a short array made with room for two
   * rather than a Map (a Map's smallest hash table is ~150 bytes, and clearing it allocates a new one; an
   * array that grows from empty gets room for 17 elements).
   */
  readonly #timers: (string | TimerHandle)[] = [undefined, undefined, undefined, undefined];
  #armed = 0;

  protected abstract readonly table: TransitionTable<S, I, this>;

  constructor(ctx: TransactionContext, id: string, method: string, protocol: TransportProtocol, initial: S) {
    super();
    this.ctx = ctx;
    this.id = id;
    this.method = method;
    this.protocol = protocol;
    this.reliable = protocol !== 'udp';
    this.#state = initial;
    this.#createdAt = ctx.clock.now();
  }

  get state(): S {
    return this.#state;
  }

  get terminated(): boolean {
    return this.#state === 'terminated';
  }

  protected setState(state: S): void {
    this.#state = state;
  }

  /** Feed one input to the table. Returns whether the current state handles it. */
  protected dispatch(input: I): boolean {
    const row = this.table[this.#state] as Record<string, ((tx: this, i: I) => void) | undefined>;
    const handler = row[input.kind];
    if (handler === undefined) return false;
    handler(this, input);
    return true;
  }

  /**
   * Start (or restart) a named timer that feeds `input` when it fires. A zero duration (D, I, J, K on
   * reliable transports) fires at once, so call `arm` last in a handler.
   */
  protected arm(name: string, ms: number, input: I): void {
    this.disarm(name);
    if (this.terminated) return;
    if (ms <= 0) {
      this.dispatch(input);
      return;
    }
    const handle = this.ctx.clock.setTimeout(() => {
      this.#forget(this.#timerIndex(name));
      if (this.terminated) return;
      try {
        this.dispatch(input);
      } catch (err) {
        // A bug in a handler: keep the process alive and do not leak the transaction.
        reportHandlerError(`timer ${name}`, err);
        this.terminate('normal');
      }
    }, ms);
    const t = this.#timers;
    const at = 2 * this.#armed++;
    if (at < t.length) {
      t[at] = name;
      t[at + 1] = handle;
    } else t.push(name, handle);
  }

  protected disarm(name: string): void {
    const i = this.#timerIndex(name);
    if (i < 0) return;
    this.ctx.clock.clearTimeout(this.#timers[i + 1]);
    this.#forget(i);
  }

  protected isArmed(name: string): boolean {
    return this.#timerIndex(name) >= 0;
  }

  /** Number of armed timers (tests assert it reaches zero). */
  get armedTimers(): number {
    return this.#armed;
  }

  #timerIndex(name: string): number {
    const t = this.#timers;
    const end = 2 * this.#armed;
    for (let i = 0; i < end; i += 2) if (t[i] === name) return i;
    return -1;
  }

  /** Drop the pair at `i` (no-op for -1): the last pair takes its place. */
  #forget(i: number): void {
    if (i < 0) return;
    const t = this.#timers;
    const last = 2 * --this.#armed;
    if (i !== last) {
      t[i] = t[last];
      t[i + 1] = t[last + 1];
    }
    t[last] = undefined;
    t[last + 1] = undefined;
  }

  /**
   * Pass bytes to the transport. A failure is fed back as `transport_error` unless the transaction has
   * ended meanwhile. Resolves the flow for callers that want it.
   */
  protected transmit(target: Target, data: SipMessage | Buffer, onFlow?: (flow: Flow) => void): void {
    let sent: Promise<Flow>;
    try {
      sent = this.ctx.transport.send(target, data);
    } catch (err) {
      sent = Promise.reject(err);
    }
    sent.then(
      (flow) => {
        if (onFlow !== undefined) guarded('send resolved', () => onFlow(flow));
      },
      (err: unknown) => {
        if (this.terminated) return;
        const te =
          err instanceof TransportError
            ? err
            : new TransportError('send_failed', err instanceof Error ? err.message : String(err), {
                cause: err,
              });
        guarded('send failed', () => this.transportFailed(te));
      },
    );
  }

  /** Feed a transport failure to the table (each machine maps it to its `transport_error` input). */
  protected abstract transportFailed(err: TransportError): void;

  /** Inform the TU of a transport failure and end (RFC 3261 §17.1.4, §17.2.4). */
  protected failTransport(err: TransportError): void {
    if (wants('stirgate:transaction:transport_error')) {
      publish('stirgate:transaction:transport_error', { ...this.labels(), code: err.code });
    }
    (this.emit as unknown as (e: 'transportError', err: TransportError) => void)('transportError', err);
    this.terminate('transport_error');
  }

  /** Timer B/F/H (or the CANCEL / guard timers) fired: tell the TU, then end. */
  protected timeOut(timer: TimeoutTimer, emitTimeout: () => void): void {
    if (wants('stirgate:transaction:timeout')) {
      publish('stirgate:transaction:timeout', { ...this.labels(), timer });
    }
    emitTimeout();
    this.terminate('timeout');
  }

  protected noteRetransmit(timer: RetransmitReason): void {
    if (wants('stirgate:transaction:retransmit')) {
      publish('stirgate:transaction:retransmit', { ...this.labels(), timer });
    }
  }

  protected noteAbsorbed(what: 'request' | 'response' | 'ack'): void {
    if (wants('stirgate:transaction:absorbed')) {
      publish('stirgate:transaction:absorbed', { ...this.labels(), what });
    }
  }

  labels(): { side: 'client' | 'server'; method: string; protocol: TransportProtocol } {
    return { side: this.side, method: methodLabel(this.method), protocol: this.protocol };
  }

  /** Enter Terminated: clear every timer, leave every map, tell the TU, drop listeners. Idempotent. */
  terminate(cause: TerminationCause): void {
    if (this.terminated) return;
    const t = this.#timers;
    const end = 2 * this.#armed;
    for (let i = 1; i < end; i += 2) this.ctx.clock.clearTimeout(t[i]);
    t.fill(undefined);
    this.#armed = 0;
    this.#state = 'terminated' as S;
    this.onTerminate();
    this.ctx.release(this as unknown as TransactionBase<never, string, TransactionInput>);
    tallyTransactionTerminated(this.side, cause);
    if (wants('stirgate:transaction:terminated')) {
      publish('stirgate:transaction:terminated', {
        ...this.labels(),
        cause,
        durationMs: this.ctx.clock.now() - this.#createdAt,
      });
    }
    if (cause !== 'closed') (this.emit as unknown as (e: 'terminated') => void)('terminated');
    this.removeAllListeners();
  }

  /** Hook for subclasses: release what they hold (pending CANCEL, ACK routing) before the layer forgets them. */
  protected onTerminate(): void {}
}

function guarded(where: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    reportHandlerError(where, err);
  }
}

/**
 * A message sent once as an object (so the transport labels it) and retransmitted as bytes. The bytes are
 * serialized on the first retransmission; from then on only they are kept, not the parsed message.
 */
export class Outgoing<M extends SipMessage = SipMessage> {
  #message: M | undefined;
  #wire: Buffer | undefined;
  constructor(message: M) {
    this.#message = message;
  }
  wire(ctx: TransactionContext): Buffer {
    if (this.#wire === undefined) {
      this.#wire = ctx.serialize(this.#message as M);
      this.#message = undefined;
    }
    return this.#wire;
  }
}

/**
 * Where a server transaction's responses go (RFC 3261 §18.2.2), computed once from the first response.
 * A failure (a Via the transport cannot route on) is reported as a transport error.
 */
export function responseTargetOf(
  ctx: TransactionContext,
  res: SipResponse,
  flow: Flow,
  fail: (err: TransportError) => void,
): Target | undefined {
  try {
    // Held until the transaction ends: its `remote` is a shared endpoint (endpoint-table.ts) or the request
    // flow's own, never a slice of the Via text.
    return ctx.transport.responseTarget(res, flow);
  } catch (err) {
    fail(new TransportError('send_failed', `no response target: ${String(err)}`, { cause: err }));
    return undefined;
  }
}

/** The target for follow-up messages of a client transaction: the same connection when we have one. */
export function followUpTarget(original: Target, flow: Flow | undefined): Target {
  if (flow === undefined || original.protocol !== 'tcp' || flow.connectionId === undefined) return original;
  return { protocol: original.protocol, remote: original.remote, connectionId: flow.connectionId };
}

/** The request of a transaction that has shed it (see `request` in types.ts). */
export function requestReleased(tx: { readonly id: string; readonly method: string }): TransactionError {
  return new TransactionError(
    'request_released',
    `${tx.method} transaction ${tx.id} no longer holds its request (it is past its final response)`,
  );
}

/**
 * The To tag of a message (detached, see `detach`), or undefined when it has none or its To header does
 * not parse.
 */
export function toTagOf(msg: SipMessage): string | undefined {
  let tag: string | undefined;
  try {
    tag = msg.to.tag;
  } catch {
    return undefined;
  }
  return tag === undefined ? undefined : detach(tag);
}
