/**
 * The B2BUA in process: a real TransactionLayer on a FakeTransport and a FakeClock, a real Router with one
 * trunk, a real B2bua, and for terminating trunks a real VerificationHook. A test plays the caller (the A
 * side) and each next hop: it injects their messages as bytes, reads what was sent to each of them (parsed
 * from the bytes on the wire), moves the clock, and reads the counts.
 *
 * The B2BUA is built in one place, `createB2bua` below, so an API change of B2buaOptions is an edit there.
 */
import { B2bua } from '../../src/b2bua/b2bua.js';
import { PASS_ALL } from '../../src/b2bua/header-rules.js';
import type { HookChains } from '../../src/b2bua/invite-hooks.js';
import type { InviteShedder } from '../../src/b2bua/invite-shedder.js';
import {
  type NextHop,
  Router,
  type TrunkRole,
  type TrunkRuntime,
  type VerificationProfile,
} from '../../src/b2bua/router.js';
import type { SessionTimerConfig } from '../../src/b2bua/session-timer.js';
import { trustBoundaryOf } from '../../src/b2bua/trust-boundary.js';
import { VerificationHook } from '../../src/b2bua/verification-hook.js';
import { createLogger } from '../../src/log/logger.js';
import { type SipMessage, type SipRequest, SipResponse } from '../../src/sip/message/message.js';
import { TransactionLayer } from '../../src/sip/transaction/transaction-layer.js';
import type { Endpoint, Flow } from '../../src/sip/transport/types.js';
import type { Verifier } from '../../src/stir/verifier.js';
import { FakeClock } from './fake-clock.js';
import { FakeTransport, type Sent } from './fake-transport.js';

/** RFC 3261 §17.1.1.1 defaults; every transaction timer of the harness derives from them. */
export const T1 = 500;
export const T2 = 4000;
export const T4 = 5000;

/** Our socket and the peers' (loopback addresses; nothing is sent on a network, the transport is fake). */
export const LOCAL: Endpoint = Object.freeze({ address: '127.0.0.10', port: 5060 });
export const CALLER: Endpoint = Object.freeze({ address: '127.0.0.21', port: 5070 });
const HOP_ENDPOINTS: readonly Endpoint[] = [
  Object.freeze({ address: '127.0.0.31', port: 5080 }),
  Object.freeze({ address: '127.0.0.32', port: 5080 }),
  Object.freeze({ address: '127.0.0.33', port: 5080 }),
];

export interface B2buaHarnessOptions {
  /** Role of the trunk the caller's traffic matches (docs/config.md `trunks[].role`). Default passthrough. */
  readonly role?: TrunkRole;
  /** Next hops of the trunk's route, tried in order (1 to 3). Default 1. */
  readonly hops?: number;
  /** Final statuses that move the call to the next hop (`failover_on`). */
  readonly failoverOn?: readonly number[];
  /** The terminating trunk's verification profile (`trunks[].verification`). */
  readonly verification?: VerificationProfile;
  /** Terminating trunks: the verifier behind the VerificationHook. */
  readonly verifier?: Verifier;
  /** The hook chains, instead of the VerificationHook alone (admission, block hooks). */
  readonly hooks?: HookChains;
  /** The customer the trunk belongs to (`customers[].trunks`). */
  readonly customer?: string;
  /** RFC 4028 session timers (`sip.session_timers`); off by default here. */
  readonly sessionTimers?: SessionTimerConfig;
  /** `sip.max_call_duration_s` in ms; 0 (default here): no limit. */
  readonly maxCallDurationMs?: number;
  /** The route's `invite_timeout_s` in ms. */
  readonly inviteTimeoutMs?: number;
  /** The next hops' transport (the fake transport names every TCP connection 99). Default udp. */
  readonly hopTransport?: 'udp' | 'tcp';
  /** Overload control's question for each new INVITE (src/b2bua/invite-shedder.ts). */
  readonly shedder?: InviteShedder;
}

/** One peer of the B2BUA: the caller or a next hop. */
export class Peer {
  readonly name: string;
  readonly endpoint: Endpoint;
  readonly #transport: FakeTransport;

  constructor(name: string, endpoint: Endpoint, transport: FakeTransport) {
    this.name = name;
    this.endpoint = endpoint;
    this.#transport = transport;
  }

  /** Inject wire text as if this peer sent it to our socket over UDP. */
  send(text: string): void {
    const flow: Flow = { protocol: 'udp', local: LOCAL, remote: this.endpoint };
    this.#transport.deliver(text, flow);
  }

  /** Everything sent to this peer, in order, with the fake time. */
  sent(): Sent[] {
    const { address, port } = this.endpoint;
    return this.#transport.sent.filter(
      (s) => s.target.remote.address === address && s.target.remote.port === port,
    );
  }

  received(): SipMessage[] {
    return this.sent().map((s) => s.message);
  }

  requests(method: string): SipRequest[] {
    return this.received().filter((m): m is SipRequest => m.isRequest() && m.method === method);
  }

  responses(status?: number): SipResponse[] {
    return this.received().filter(
      (m): m is SipResponse => m instanceof SipResponse && (status === undefined || m.status === status),
    );
  }

  /** The first request of this method sent to the peer; throws when there is none. */
  request(method: string): SipRequest {
    const r = this.requests(method)[0];
    if (r === undefined) throw new Error(`${this.name} received no ${method}`);
    return r;
  }

  /** The first response with this status sent to the peer; throws when there is none. */
  response(status: number, method = 'INVITE'): SipResponse {
    const r = this.responses(status).find((m) => m.cseq.method === method);
    if (r === undefined) throw new Error(`${this.name} received no ${status} to ${method}`);
    return r;
  }

  /** One-line summaries of what this peer received (`INVITE`, `180/INVITE`), for order assertions. */
  trace(): string[] {
    return this.received().map((m) =>
      m instanceof SipResponse ? `${m.status}/${m.cseq.method}` : (m as SipRequest).method,
    );
  }
}

export interface B2buaHarness {
  readonly clock: FakeClock;
  readonly transport: FakeTransport;
  readonly transactions: TransactionLayer;
  readonly b2bua: B2bua;
  /** The caller: the A side, on the trunk the harness configures. */
  readonly caller: Peer;
  /** The route's next hops, in order. */
  readonly hops: readonly Peer[];
  /** The call and transaction counts (the element's stats(), src/app.ts). */
  stats(): { calls: number; dialogs: number; clientTransactions: number; serverTransactions: number };
  /** Move the fake clock, firing the transaction timers that fall due, then let their sends settle. */
  advance(ms: number): Promise<void>;
  /**
   * Wait (real time, bounded) until `ready` holds: for work the fake clock does not drive, such as the
   * verifier's certificate fetch and its threadpool signature check.
   */
  until(ready: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): void;
}

export function createB2buaHarness(opts: B2buaHarnessOptions = {}): B2buaHarness {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock);
  transport.local = LOCAL;
  // Record the bytes and a parse of them: tests assert on the wire, and hold no object the B2BUA keeps.
  transport.recordCopies = true;
  const transactions = new TransactionLayer(transport, { clock, timers: { t1Ms: T1, t2Ms: T2, t4Ms: T4 } });
  const count = opts.hops ?? 1;
  if (count < 1 || count > HOP_ENDPOINTS.length) throw new RangeError(`hops: 1 to ${HOP_ENDPOINTS.length}`);
  const hopEndpoints = HOP_ENDPOINTS.slice(0, count);
  const trunk = trunkOf(opts, hopEndpoints);
  const hooks: HookChains =
    opts.hooks ??
    (opts.verifier === undefined ? {} : { terminating: [new VerificationHook({ verifier: opts.verifier })] });
  const b2bua = createB2bua({ trunk, transactions, hooks, clock, opts });
  transactions.setUser(b2bua);
  return {
    clock,
    transport,
    transactions,
    b2bua,
    caller: new Peer('caller', CALLER, transport),
    hops: hopEndpoints.map((ep, i) => new Peer(`hop ${i + 1}`, ep, transport)),
    stats: () => {
      const b = b2bua.stats();
      const t = transactions.stats();
      return {
        calls: b.calls,
        dialogs: b.dialogs,
        clientTransactions: t.client,
        serverTransactions: t.server,
      };
    },
    advance: async (ms) => {
      clock.advance(ms);
      await settle();
    },
    until: async (ready, what, timeoutMs = 3000) => {
      const deadline = Date.now() + timeoutMs;
      while (!ready()) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise<void>((r) => setTimeout(r, 1));
      }
      await settle();
    },
    close: () => {
      b2bua.close();
      transactions.close();
    },
  };
}

/** The one construction of the B2BUA (src/app.ts builds the same); the fake clock drives the calls' timers. */
function createB2bua(p: {
  trunk: TrunkRuntime;
  transactions: TransactionLayer;
  hooks: HookChains;
  clock: FakeClock;
  opts: B2buaHarnessOptions;
}): B2bua {
  return new B2bua({
    router: new Router([p.trunk]),
    transactions: p.transactions,
    localEndpoint: (protocol) => (protocol === 'udp' ? LOCAL : undefined),
    logger: createLogger({ level: 'silent' }),
    hooks: p.hooks,
    unmatched: { action: 'reject', status: 403 },
    maxForwards: 70,
    userAgent: 'stirgate-test',
    maxCalls: 100,
    ackTimeoutMs: 64 * T1,
    clock: p.clock,
    ...(p.opts.sessionTimers !== undefined ? { sessionTimers: p.opts.sessionTimers } : {}),
    maxCallDurationMs: p.opts.maxCallDurationMs ?? 0,
    ...(p.opts.shedder !== undefined ? { shedder: p.opts.shedder } : {}),
  });
}

function trunkOf(opts: B2buaHarnessOptions, hops: readonly Endpoint[]): TrunkRuntime {
  const protocol = opts.hopTransport ?? 'udp';
  const nextHops: NextHop[] = hops.map((ep) => ({
    address: ep.address,
    port: ep.port,
    protocol,
    target: { protocol, remote: ep },
  }));
  return {
    name: 'peer',
    role: opts.role ?? 'passthrough',
    route: {
      name: 'route',
      hops: nextHops,
      failoverOn: new Set(opts.failoverOn ?? []),
      inviteTimeoutMs: opts.inviteTimeoutMs,
    },
    countryCode: '1',
    headerRules: PASS_ALL,
    gateway: false,
    identityIn: 'replace',
    verification: opts.verification,
    trustBoundary: trustBoundaryOf(opts.role ?? 'passthrough', opts.verification?.attestationHeader),
    customer: opts.customer,
    matchSource: (ip) => ip === CALLER.address,
    matchPort: undefined,
    matchTransport: undefined,
  };
}

/** Let promise callbacks (transport send results, hook continuations) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
  await new Promise<void>((r) => setImmediate(r));
}
