import type { Logger } from '../log/logger.js';
import type { SipRequest, SipResponse } from '../sip/message/message.js';
import type { ServerTransaction, TransactionLayer, TransactionUser } from '../sip/transaction/index.js';
import { type Clock, realClock } from '../sip/transaction/timers.js';
import type { ConnectionClosed } from '../sip/transport/index.js';
import type { Endpoint, Flow, TransportProtocol } from '../sip/transport/types.js';
import { defaultNewCallId } from './b-leg-invite.js';
import { isSettingUp } from './call-lifecycle.js';
import { CallReaper } from './call-reaper.js';
import { CallRegistry } from './call-registry.js';
import { type CallRouting, CallSetup } from './call-setup.js';
import { CallTeardown } from './call-teardown.js';
import { InDialogRelay } from './in-dialog-relay.js';
import type { HookChains } from './invite-hooks.js';
import type { InviteShedder } from './invite-shedder.js';
import { LocalContact } from './local-contact.js';
import { ACCEPT_HEADER, ALLOW_HEADER, validateRequest } from './request-validation.js';
import { respond } from './respond.js';
import type { Router, UnmatchedPolicy } from './router.js';
import type { SessionTimerConfig } from './session-timer.js';
import { RecordKeys } from './traceback-events.js';

export interface B2buaOptions {
  readonly router: Router;
  readonly transactions: TransactionLayer;
  /** Our listening address for a protocol; undefined when we do not listen on it. */
  readonly localEndpoint: (protocol: TransportProtocol) => Endpoint | undefined;
  readonly logger: Logger;
  /** The ordered hook chain of each trunk role (src/b2bua/invite-hooks.ts). */
  readonly hooks: HookChains;
  /** What to do with traffic from an address that matches no trunk. */
  readonly unmatched: UnmatchedPolicy;
  readonly maxForwards: number;
  readonly userAgent: string;
  readonly maxCalls: number;
  /** How long to wait for the A-leg ACK of a 2xx before tearing down (64*T1, RFC 3261 §13.3.1.4). */
  readonly ackTimeoutMs: number;
  /**
   * B-leg Call-IDs (RFC 3261 §8.1.1.4); defaults to a random one. A cluster worker supplies Call-IDs that hash
   * to itself, so the B-leg's responses and requests reach it whichever worker reads them (src/cluster/).
   */
  readonly newCallId?: () => string;
  /** RFC 4028 session timers (`sip.session_timers`); off when absent. */
  readonly sessionTimers?: SessionTimerConfig;
  /** `sip.max_call_duration_s` in ms; 0 or absent: no limit. */
  readonly maxCallDurationMs?: number;
  /** The calls' own timers (route INVITE timeout, ACK keeping); the process clock by default. */
  readonly clock?: Clock;
  /** The keys of this element's traceback records; the element's traceback writer takes only those. */
  readonly recordKeys?: RecordKeys;
  /** Overload control (src/app/overload-detector.ts): asked through `shedInvite`, before a transaction exists. */
  readonly shedder?: InviteShedder;
}

/**
 * The B2BUA: the transaction user that pairs an A-leg with a B-leg per call, relays in-dialog traffic and
 * keeps the legs' topology apart. Only this module knows both SIP and STIR (through the hook chain). The
 * work is split by job: call setup and failover (call-setup.ts), in-dialog relay (in-dialog-relay.ts), how
 * calls end (call-teardown.ts), the B-leg INVITE (b-leg-invite.ts), the tables (call-registry.ts) and the
 * lifecycle (call-lifecycle.ts).
 */
export class B2bua implements TransactionUser {
  readonly #registry = new CallRegistry();
  readonly #setup: CallSetup;
  readonly #relay: InDialogRelay;
  readonly #teardown: CallTeardown;
  readonly #reaper: CallReaper;
  readonly #shedder: InviteShedder | undefined;
  /** Set by `startDrain`: the Retry-After of every new INVITE and OPTIONS from then on. */
  #drainRetryAfter: string | undefined;

  constructor(o: B2buaOptions) {
    this.#shedder = o.shedder;
    const registry = this.#registry;
    const recordKeys = o.recordKeys ?? new RecordKeys();
    const contact = new LocalContact(o.localEndpoint);
    this.#teardown = new CallTeardown({
      registry,
      transactions: o.transactions,
      maxForwards: o.maxForwards,
      ackTimeoutMs: o.ackTimeoutMs,
      logger: o.logger,
      recordKeys,
    });
    const sessionTimers = o.sessionTimers ?? SESSION_TIMERS_OFF;
    this.#reaper = new CallReaper({
      registry,
      teardown: this.#teardown,
      sessionTimers,
      maxCallDurationMs: o.maxCallDurationMs ?? 0,
      setup: () => this.#setup,
    });
    this.#setup = new CallSetup({
      router: o.router,
      transactions: o.transactions,
      registry,
      teardown: this.#teardown,
      contact,
      bLeg: {
        contact,
        maxForwards: o.maxForwards,
        userAgent: o.userAgent,
        newCallId: o.newCallId ?? defaultNewCallId,
      },
      logger: o.logger,
      hooks: o.hooks,
      unmatched: o.unmatched,
      maxCalls: o.maxCalls,
      clock: o.clock ?? realClock,
      recordKeys,
      reaper: this.#reaper,
      sessionTimers,
    });
    this.#relay = new InDialogRelay({
      registry,
      transactions: o.transactions,
      teardown: this.#teardown,
      reaper: this.#reaper,
      abandon: (call, reason) => this.#setup.abandon(call, reason),
      maxForwards: o.maxForwards,
      ackTimeoutMs: o.ackTimeoutMs,
    });
  }

  /**
   * A configuration reload: the router, unmatched policy, hook chains and call limit for the next initial
   * INVITE, in one swap. Calls being set up or established keep their trunk, route and hooks.
   */
  reconfigure(routing: CallRouting): void {
    this.#setup.reconfigure(routing);
  }

  stats(): { calls: number; dialogs: number } {
    return { calls: this.#registry.calls, dialogs: this.#registry.dialogs };
  }

  onRequest(req: SipRequest, tx: ServerTransaction, flow: Flow): void {
    if (req.to.tag !== undefined) {
      // In-dialog requests of admitted calls are never shed nor drained (RFC 6357 §4).
      this.#relay.request(req, tx);
      return;
    }
    if (this.#drainRetryAfter !== undefined && (req.method === 'INVITE' || req.method === 'OPTIONS')) {
      // Draining (src/app/drain.ts): new calls go elsewhere, and OPTIONS tell a dispatcher in front so.
      respond(tx, req, 503, undefined, [['Retry-After', this.#drainRetryAfter]]);
      return;
    }
    const refusal = validateRequest(req, false);
    if (refusal !== undefined) {
      respond(tx, req, refusal.status, undefined, refusal.headers);
      return;
    }
    switch (req.method) {
      case 'INVITE':
        this.#setup.newCall(req, tx, flow);
        return;
      case 'OPTIONS':
        // Trunk keep-alive / capability query (RFC 3261 §11.2).
        respond(tx, req, 200, undefined, [
          ['Allow', ALLOW_HEADER],
          ['Accept', ACCEPT_HEADER],
          ['Supported', '100rel, timer, update'],
        ]);
        return;
      default:
        // BYE/UPDATE/INFO/PRACK outside a dialog (RFC 3261 §12.2.2 / §15).
        respond(tx, req, 481);
    }
  }

  /**
   * Overload (src/policy/overload.ts): asked by the transaction layer before it makes a transaction for a new
   * INVITE, so a shed call costs no transaction, validation, trunk match, dialog or hook chain (RFC 6357 §3);
   * the layer answers 503 statelessly. While draining, the stateful 503 of onRequest answers instead.
   */
  shedInvite(_req: SipRequest, _flow: Flow): number | undefined {
    if (this.#drainRetryAfter !== undefined) return undefined;
    return this.#shedder?.shed();
  }

  onAck(ack: SipRequest, _flow: Flow): void {
    this.#relay.ack(ack);
  }

  onCancel(_cancel: SipRequest, inviteTx: ServerTransaction | undefined, _flow: Flow): void {
    if (inviteTx !== undefined) this.#setup.cancel(inviteTx);
  }

  /** The transport's seam (TransportLayer.onConnectionClosed): calls with a leg on a lost connection end. */
  connectionClosed(closed: ConnectionClosed): void {
    this.#reaper.connectionClosed(closed);
  }

  onStrayResponse(res: SipResponse, _flow: Flow | undefined): void {
    this.#setup.reAckStray(res);
  }

  /**
   * Drain (src/app/drain.ts): from now on new INVITEs and OPTIONS get 503 with this Retry-After; calls being
   * set up or established go on.
   */
  startDrain(retryAfterS: number): void {
    this.#drainRetryAfter = String(retryAfterS);
  }

  /**
   * The drain deadline: BYE both legs of every established call (RFC 3261 §15.1.1) and cancel the ones still
   * being set up (487 to the caller, CANCEL to the next hop: RFC 3261 §9). Returns how many calls it ended.
   */
  hangUpAll(): number {
    let n = 0;
    for (const call of this.#registry.all()) {
      if (isSettingUp(call.state) && call.aTx !== undefined) this.#setup.cancel(call.aTx);
      else if (call.state === 'answered' || call.state === 'confirmed')
        this.#teardown.hangUpBoth(call, 'shutdown');
      else continue;
      n++;
    }
    return n;
  }

  /** End every call (shutdown). */
  close(): void {
    for (const call of this.#registry.all()) this.#teardown.end(call, 'shutdown');
  }
}

const SESSION_TIMERS_OFF: SessionTimerConfig = Object.freeze({
  enabled: false,
  sessionExpiresS: 1800,
  minSeS: 90,
});
