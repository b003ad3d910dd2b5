import type { Flow, Target, TransportProtocol } from '../sip/transport/types.js';
import type { HeaderRules } from './header-rules.js';
import type { TrustBoundary } from './trust-boundary.js';

/** Trunk roles (see docs/config.md): who the peer is and what STIR does on its INVITEs. */
export type TrunkRole = 'originating' | 'terminating' | 'passthrough';

export interface NextHop {
  readonly address: string;
  readonly port: number;
  readonly protocol: TransportProtocol;
  /** Where B-leg INVITEs to this hop go; built once with the configuration, shared by its calls. */
  readonly target: Target;
}

export interface RouteRuntime {
  readonly name: string;
  readonly hops: readonly NextHop[];
  /** Final statuses that move the call to the next hop; timeouts and transport errors always do. */
  readonly failoverOn: ReadonlySet<number>;
  /** Give up on a hop that sent no final answer within this time (Timer C style), ms. */
  readonly inviteTimeoutMs: number | undefined;
}

export interface VerificationProfile {
  readonly onFailure: 'mark' | 'reject';
  readonly requireIdentity: boolean;
  /** Header carrying the verified attestation level to the callee; empty = none. */
  readonly attestationHeader: string;
}

export interface TrunkRuntime {
  readonly name: string;
  readonly role: TrunkRole;
  readonly route: RouteRuntime;
  readonly countryCode: string;
  readonly headerRules: HeaderRules;
  /** Originating: ingress we cannot vouch for (attestation C). */
  readonly gateway: boolean;
  /** Originating: what to do with an Identity header arriving from the customer. */
  readonly identityIn: 'replace' | 'keep';
  readonly verification: VerificationProfile | undefined;
  /**
   * STIR trunks (originating, terminating): the peer's verification claims removed from every B-leg INVITE
   * (src/b2bua/trust-boundary.ts). Passthrough trunks relay what they get.
   */
  readonly trustBoundary: TrustBoundary | undefined;
  /** Customer owning this trunk (originating), opaque to the router. */
  readonly customer: string | undefined;
  readonly matchSource: (ip: string) => boolean;
  readonly matchPort: number | undefined;
  readonly matchTransport: TransportProtocol | undefined;
}

/** What to do with an INVITE from an address that matches no trunk (docs/config.md `unmatched_source`). */
export interface UnmatchedPolicy {
  readonly action: 'reject' | 'passthrough';
  readonly status: number;
  /** The passthrough trunk such calls take, when `unmatched_source.route` is set. */
  readonly trunk?: TrunkRuntime;
}

/** First trunk whose source CIDRs, port and transport match the flow wins (docs/config.md). */
export class Router {
  readonly #trunks: readonly TrunkRuntime[];

  constructor(trunks: readonly TrunkRuntime[]) {
    this.#trunks = trunks;
  }

  match(flow: Flow): TrunkRuntime | undefined {
    const ip = flow.remote.address;
    for (const t of this.#trunks) {
      if (t.matchTransport !== undefined && t.matchTransport !== flow.protocol) continue;
      if (t.matchPort !== undefined && t.matchPort !== flow.remote.port) continue;
      if (t.matchSource(ip)) return t;
    }
    return undefined;
  }

  get trunks(): readonly TrunkRuntime[] {
    return this.#trunks;
  }
}
