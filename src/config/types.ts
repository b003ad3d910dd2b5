/**
 * The validated configuration. YAML keys are snake_case, these fields camelCase (`max_message_bytes` ->
 * `maxMessageBytes`). Every object is frozen after load. Each key is documented in docs/config.md.
 */

export type ConfigTransport = 'udp' | 'tcp';
export type LogLevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type TrunkRoleName = 'originating' | 'terminating' | 'passthrough';

/** An IP literal and a port, from `host:port` / `[v6]:port` text. */
export interface HostPort {
  readonly address: string;
  readonly port: number;
}

export interface ListenConfig {
  readonly transport: ConfigTransport;
  /** IP literal to bind. */
  readonly address: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
}

/** RFC 3261 §17.1.1.1 timer base values. */
export interface SipTimersConfig {
  readonly t1Ms: number;
  readonly t2Ms: number;
  readonly t4Ms: number;
  /** Timer C (RFC 3261 §16.6 step 11), seconds: restarted by each provisional answer of a next hop. */
  readonly timerCS: number;
}

export interface SipLimitsConfig {
  readonly maxMessageBytes: number;
  readonly maxHeaders: number;
  readonly maxLineLength: number;
  readonly tcpMaxConnections: number;
  readonly tcpMaxConnectionsPerSource: number;
  readonly tcpIdleTimeoutS: number;
  readonly tcpMessageTimeoutMs: number;
  readonly tcpConnectTimeoutMs: number;
}

export interface SipConfig {
  readonly timers: SipTimersConfig;
  readonly limits: SipLimitsConfig;
  /** Max-Forwards set on the B-leg when the A-leg request has none (RFC 3261 §8.1.1.6). */
  readonly maxForwards: number;
  /** User-Agent / Server value; `{version}` already expanded; empty = header omitted. */
  readonly userAgent: string;
  readonly callLimits: { readonly maxCalls: number };
  /** RFC 4028 session timers (src/b2bua/session-timer.ts). */
  readonly sessionTimers: {
    readonly enabled: boolean;
    readonly sessionExpiresS: number;
    readonly minSeS: number;
  };
  /** An answered call is ended after this long; 0 = no limit. */
  readonly maxCallDurationS: number;
}

export interface TrunkMatchConfig {
  /** CIDR blocks or addresses (compile with `compileSourceMatcher`). */
  readonly sources: readonly string[];
  /** Peer's source port; any when absent. */
  readonly port?: number;
  /** Any when absent. */
  readonly transport?: ConfigTransport;
}

/** At most one of the two is set. Canonical lower-case header names. */
export interface HeaderRulesConfig {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

export interface TrunkVerificationConfig {
  readonly onFailure: 'mark' | 'reject';
  readonly requireIdentity: boolean;
  /** Header carrying the verified attestation to the callee; empty = none. */
  readonly attestationHeader: string;
}

interface TrunkCommon {
  readonly name: string;
  readonly match: TrunkMatchConfig;
  /** Name of a route in `routes`. */
  readonly route: string;
  /** E.164 country code digits used to globalise national numbers. */
  readonly countryCode: string;
  readonly headers: HeaderRulesConfig;
}

/** A customer sends us calls to sign (authentication service). */
export interface OriginatingTrunkConfig extends TrunkCommon {
  readonly role: 'originating';
  /** Ingress we cannot vouch for (e.g. international gateway): attestation C. */
  readonly gateway: boolean;
  /** What to do with an Identity header arriving from the customer. */
  readonly identityIn: 'replace' | 'keep';
}

/** Calls arriving to be verified (verification service) before delivery to our customer. */
export interface TerminatingTrunkConfig extends TrunkCommon {
  readonly role: 'terminating';
  readonly verification: TrunkVerificationConfig;
}

/** No signing, no verification; Identity headers pass unchanged. */
export interface PassthroughTrunkConfig extends TrunkCommon {
  readonly role: 'passthrough';
}

export type TrunkConfig = OriginatingTrunkConfig | TerminatingTrunkConfig | PassthroughTrunkConfig;

export interface NextHopConfig {
  /** IP literal. */
  readonly address: string;
  readonly port: number;
  readonly transport: ConfigTransport;
}

export interface RouteConfig {
  readonly name: string;
  readonly nextHops: readonly NextHopConfig[];
  /** Final statuses that move to the next hop; a timeout always does. */
  readonly failoverOn: readonly number[];
  readonly inviteTimeoutS?: number;
}

/** One entry of a customer's `numbers`: E.164 digits without `+`. */
export type NumberEntryConfig =
  | { readonly kind: 'exact'; readonly tn: string }
  | { readonly kind: 'range'; readonly from: string; readonly to: string }
  | { readonly kind: 'prefix'; readonly prefix: string };

/** A customer's admission limits (docs/config.md "Customer protections"). */
export interface CustomerLimitsConfig {
  /** Calls per second: the token bucket's refill rate. */
  readonly cps: number;
  /** Bucket size: calls accepted at once after a quiet spell. */
  readonly burst: number;
  readonly maxConcurrent: number;
}

/** Where a customer may call. Prefixes are E.164 digits without `+` (written `1900*` in YAML). */
export interface DestinationsConfig {
  /** Non-empty: only called numbers under one of these prefixes. */
  readonly allow: readonly string[];
  readonly deny: readonly string[];
  /** Names of `policy.destination_classes` this customer may call. */
  readonly classes: readonly string[];
}

export interface CustomerConfig {
  readonly name: string;
  /** Names of originating trunks. */
  readonly trunks: readonly string[];
  readonly numbers: readonly NumberEntryConfig[];
  /** Lower-case UUID; absent until main fills it with `withOrigids` (see `missingOrigids`). */
  readonly origid?: string;
  /** Absent: `policy.default_limits`. */
  readonly limits?: CustomerLimitsConfig;
  readonly destinations: DestinationsConfig;
}

/** Customer protections and the call-path side of blocks (docs/config.md, docs/operations.md). */
export interface PolicyConfig {
  /** Limits of a customer that sets none. */
  readonly defaultLimits: CustomerLimitsConfig;
  /** Class name -> prefixes (E.164 digits); denied unless a customer lists the class. */
  readonly destinationClasses: Readonly<Record<string, readonly string[]>>;
  /** Do-not-originate list: one number or prefix* per line (47 CFR 64.1200(o)). */
  readonly dnoFile?: string;
  /** Dialled short codes (digits); never refused by a limit or a block. */
  readonly emergencyNumbers: readonly string[];
  /** Lower-case header name `mark` blocks add to the B-leg INVITE. */
  readonly markHeader: string;
  /** The redress contact put in 603+ (ATIS-1000099). */
  readonly redress: { readonly url?: string; readonly tel?: string; readonly email?: string };
}

export interface UnmatchedSourceConfig {
  readonly action: 'reject' | 'passthrough';
  /** Final status for `reject`. */
  readonly status: number;
  /** Route for `passthrough` (required then). */
  readonly route?: string;
}

export interface SigningConfig {
  readonly privateKeyFile: string;
  readonly certificateFile: string;
  readonly x5uUrl: string;
}

export interface X5uPolicyConfig {
  readonly allowHttp: boolean;
  readonly allowedPorts: readonly number[];
  readonly allowCidrs: readonly string[];
  readonly denyCidrs: readonly string[];
  readonly allowUserinfoQuery: boolean;
  readonly maxBodyBytes: number;
  readonly timeoutMs: number;
}

export interface CertCacheConfig {
  readonly maxEntries: number;
  readonly minTtlS: number;
  readonly maxTtlS: number;
  readonly defaultTtlS: number;
  readonly negativeTtlS: number;
}

export interface VerificationConfig {
  /** Directory of trusted STI-CA roots (PEM); absent = the dev PKI CA. */
  readonly trustRootsDir?: string;
  readonly maxAgeS: number;
  readonly maxFutureSkewS: number;
  readonly x5u: X5uPolicyConfig;
  readonly cache: CertCacheConfig;
  readonly crlFile?: string;
  readonly replay: {
    readonly store: 'memory';
    readonly maxEntries: number;
    /** workers > 1: how the workers share what they have seen (src/cluster/broadcast-replay-store.ts). */
    readonly clusterCheck: 'broadcast' | 'ask_primary';
  };
  /** Where the ES256 check runs: on the event loop, or on libuv's threadpool. */
  readonly signatureCheck: 'event_loop' | 'threadpool';
}

export interface DevPkiConfig {
  /** Where the built-in loopback x5u server listens. */
  readonly x5uListen: HostPort;
  /** Service Provider Code in the dev certificate's TNAuthList. */
  readonly spc: string;
}

export interface StirConfig {
  /** Absent = dev PKI in `dataDir` (when any trunk is originating). */
  readonly signing?: SigningConfig;
  readonly verification: VerificationConfig;
  readonly devPki: DevPkiConfig;
}

/** Traceback records (src/traceback/, docs/traceback.md): who sent each call, written off the call path. */
export interface TracebackConfig {
  readonly enabled: boolean;
  /** The SQLite file; absent = `<dataDir>/traceback.db`. */
  readonly file?: string;
  /** Records older than this many days are pruned in the background; 0 keeps them all. */
  readonly retentionDays: number;
  /** Events held in memory waiting for the store; past it new ones are dropped and counted. */
  readonly queueMax: number;
  /** Events per batch (one store transaction). */
  readonly batchMax: number;
  /** Longest an event waits before its batch is written. */
  readonly flushMs: number;
}

export interface Config {
  readonly listen: readonly ListenConfig[];
  readonly sip: SipConfig;
  /** SIP worker processes (src/cluster/); 1 = no cluster. */
  readonly workers: number;
  /** workers > 1: worker k's own UDP port is base + k (0: ephemeral). */
  readonly workerUdpPortBase: number;
  /** First match wins, in this order. */
  readonly trunks: readonly TrunkConfig[];
  readonly routes: readonly RouteConfig[];
  readonly customers: readonly CustomerConfig[];
  readonly unmatchedSource: UnmatchedSourceConfig;
  readonly stir: StirConfig;
  /** Relative to the working directory. */
  readonly dataDir: string;
  /** `listen` absent = metrics off. */
  readonly metrics: { readonly listen?: HostPort };
  readonly log: { readonly level: LogLevelName };
  readonly traceback: TracebackConfig;
  readonly admin: AdminConfig;
  readonly policy: PolicyConfig;
  /** Overload control (src/policy/overload.ts). */
  readonly overload: OverloadConfig;
  /** SIGTERM: how long established calls may go on before both legs get a BYE (src/app/drain.ts). */
  readonly drainTimeoutS: number;
}

/** Overload control: event-loop marks and the Retry-After of shed INVITEs (src/policy/overload.ts). */
export interface OverloadConfig {
  readonly enabled: boolean;
  /** How often the event loop is measured and the shed fraction adjusted. */
  readonly sampleMs: number;
  readonly eluHighPercent: number;
  readonly eluLowPercent: number;
  readonly lagHighMs: number;
  /** Read the UDP receive backlog (src/app/udp-backlog.ts); false: utilisation and lateness alone. */
  readonly udpBacklog: boolean;
  readonly backlogHighPercent: number;
  readonly backlogLowPercent: number;
  readonly retryAfterS: number;
  readonly retryAfterJitterS: number;
}

export interface AdminConfig {
  /** Absent = the admin API is off. */
  readonly listen?: HostPort;
  /** Absent = `<dataDir>/admin-token`. */
  readonly tokenFile?: string;
}
