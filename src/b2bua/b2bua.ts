import type { Logger } from '../log/logger.js';
import type { SipRequest, SipResponse } from '../sip/message/message.js';
import type { ServerTransaction, TransactionLayer, TransactionUser } from '../sip/transaction/index.js';
import { type Clock, realClock } from '../sip/transaction/timers.js';
import type { ConnectionClosed } from '../sip/transport/index.js';
import type { Endpoint, Flow, TransportProtocol } from '../sip/transport/types.js';
import { defaultNewCallId } from './b-leg-invite.js';
import { CallReaper } from './call-reaper.js';
import { CallRegistry } from './call-registry.js';
import { type CallRouting, CallSetup } from './call-setup.js';
import { CallTeardown } from './call-teardown.js';
import { InDialogRelay } from './in-dialog-relay.js';
import type { HookChains } from './invite-hooks.js';
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

  constructor(o: B2buaOptions) {
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
      this.#relay.request(req, tx);
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
