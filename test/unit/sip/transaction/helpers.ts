import { SipParseError } from '../../../../src/sip/message/errors.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../../src/sip/message/message.js';
import { parseMessage } from '../../../../src/sip/message/parse.js';
import { serializeMessage } from '../../../../src/sip/message/serialize.js';
import type { TransactionLayerOptions } from '../../../../src/sip/transaction/transaction-layer.js';
import { TransactionLayer } from '../../../../src/sip/transaction/transaction-layer.js';
import type {
  ServerTransaction,
  TransactionTransport,
  TransactionUser,
} from '../../../../src/sip/transaction/types.js';
import { responseTarget } from '../../../../src/sip/transport/response-target.js';
import type {
  Endpoint,
  Flow,
  InboundMessage,
  InboundParseError,
  Target,
  TransportProtocol,
} from '../../../../src/sip/transport/types.js';
import { TransportError } from '../../../../src/sip/transport/types.js';
import { FakeClock } from '../../../support/fake-clock.js';

export const LOCAL: Endpoint = { address: '192.0.2.10', port: 5060 };
export const PEER: Endpoint = { address: '192.0.2.20', port: 5070 };

export function udpFlow(remote: Endpoint = PEER): Flow {
  return { protocol: 'udp', local: LOCAL, remote };
}

export function tcpFlow(connectionId = 7, remote: Endpoint = PEER): Flow {
  return { protocol: 'tcp', local: LOCAL, remote, connectionId };
}

export function target(protocol: TransportProtocol = 'udp'): Target {
  return { protocol, remote: PEER };
}

export interface Sent {
  readonly at: number;
  readonly target: Target;
  readonly message: SipMessage;
  /** Whether the layer passed bytes (a retransmission) rather than the message object. */
  readonly bytes: boolean;
  /** The octets on the wire; recorded only with `recordCopies`. */
  readonly wire: Buffer | undefined;
}

/** Records what the layer sends (as parsed messages, with the fake time) and lets a test inject input. */
export class FakeTransport implements TransactionTransport {
  readonly sent: Sent[] = [];
  readonly #clock: FakeClock;
  #onMessage: ((m: InboundMessage) => void) | undefined;
  #onParseError: ((e: InboundParseError) => void) | undefined;
  /** When set, every send rejects with this error. */
  failWith: TransportError | undefined;
  /**
   * Record the octets and a parsed copy of each message instead of the object the layer passed, so the
   * transport holds no reference to it (as the real one after serializing).
   */
  recordCopies = false;
  local: Endpoint = LOCAL;

  constructor(clock: FakeClock) {
    this.#clock = clock;
  }

  send(t: Target, data: SipMessage | Buffer): Promise<Flow> {
    // Keep the message object when one was sent: a stateless 400 to a request without Call-ID (RFC 4475
    // insuf) is itself not parseable by our strict parser, yet it is what goes on the wire.
    const bytes = Buffer.isBuffer(data);
    if (this.recordCopies) {
      const wire = Buffer.from(bytes ? data : serialize(data));
      this.sent.push({ at: this.#clock.now(), target: t, message: parseMessage(wire), bytes, wire });
    } else {
      const message = bytes ? parseMessage(data) : data;
      this.sent.push({ at: this.#clock.now(), target: t, message, bytes, wire: undefined });
    }
    if (this.failWith !== undefined) return Promise.reject(this.failWith);
    return Promise.resolve({
      protocol: t.protocol,
      local: LOCAL,
      remote: t.remote,
      ...(t.protocol === 'tcp' ? { connectionId: t.connectionId ?? 99 } : {}),
    });
  }

  responseTarget(res: SipResponse, flow: Flow): Target {
    return responseTarget(res, flow);
  }

  localEndpoint(): Endpoint {
    return this.local;
  }

  onMessage(cb: (m: InboundMessage) => void): () => void {
    this.#onMessage = cb;
    return () => {
      this.#onMessage = undefined;
    };
  }

  onParseError(cb: (e: InboundParseError) => void): () => void {
    this.#onParseError = cb;
    return () => {
      this.#onParseError = undefined;
    };
  }

  get subscribed(): boolean {
    return this.#onMessage !== undefined && this.#onParseError !== undefined;
  }

  /** Deliver wire text (or a message) as if it arrived on `flow`; parse errors go to onParseError. */
  deliver(input: string | SipMessage, flow: Flow = udpFlow()): void {
    let message: SipMessage;
    if (typeof input === 'string') {
      const raw = Buffer.from(input, 'latin1');
      try {
        message = parseMessage(raw);
      } catch (err) {
        if (!(err instanceof SipParseError)) throw err;
        this.#onParseError?.({ error: err, flow, raw });
        return;
      }
    } else {
      message = parseMessage(serialize(input));
    }
    this.#onMessage?.({ message, flow, receivedAt: 0n });
  }

  /** Sent messages matching a predicate. */
  requests(method: string): SipRequest[] {
    return this.sent
      .map((s) => s.message)
      .filter((m): m is SipRequest => m.isRequest() && m.method === method);
  }

  responses(status?: number): SipResponse[] {
    return this.sent
      .map((s) => s.message)
      .filter(
        (m): m is SipResponse =>
          !m.isRequest() && (status === undefined || (m as SipResponse).status === status),
      );
  }

  /** Times (fake ms) at which messages matching `pred` were sent. */
  times(pred: (m: SipMessage) => boolean): number[] {
    return this.sent.filter((s) => pred(s.message)).map((s) => s.at);
  }

  last(): SipMessage {
    const s = this.sent[this.sent.length - 1];
    if (s === undefined) throw new Error('nothing sent');
    return s.message;
  }
}

function serialize(m: SipMessage): Buffer {
  return serializeMessage(m);
}

const requestOfTx = new WeakMap<ServerTransaction, SipRequest>();

/**
 * The request a server transaction was created for, as the TU received it: `tx.request` is released once
 * the transaction is past its final response.
 */
export function requestOf(tx: ServerTransaction): SipRequest {
  const req = requestOfTx.get(tx);
  if (req === undefined) throw new Error(`no request recorded for transaction ${tx.id}`);
  return req;
}

/** Records every TU callback. */
export class RecordingUser implements TransactionUser {
  readonly requests: { req: SipRequest; tx: ServerTransaction; flow: Flow }[] = [];
  readonly acks: SipRequest[] = [];
  readonly cancels: { cancel: SipRequest; tx: ServerTransaction | undefined }[] = [];
  readonly strays: SipResponse[] = [];
  readonly parseErrors: { error: InboundParseError; answered: number | undefined }[] = [];
  /** Called for each new request (default: nothing, the test answers). */
  onNew: ((req: SipRequest, tx: ServerTransaction) => void) | undefined;

  onRequest(req: SipRequest, tx: ServerTransaction, flow: Flow): void {
    requestOfTx.set(tx, req);
    this.requests.push({ req, tx, flow });
    this.onNew?.(req, tx);
  }
  onAck(ack: SipRequest): void {
    this.acks.push(ack);
  }
  onCancel(cancel: SipRequest, tx: ServerTransaction | undefined): void {
    this.cancels.push({ cancel, tx });
  }
  onStrayResponse(res: SipResponse): void {
    this.strays.push(res);
  }
  onParseError(error: InboundParseError, answered: number | undefined): void {
    this.parseErrors.push({ error, answered });
  }
}

export interface Harness {
  readonly clock: FakeClock;
  readonly transport: FakeTransport;
  readonly layer: TransactionLayer;
  readonly tu: RecordingUser;
}

export function harness(opts: Omit<TransactionLayerOptions, 'clock'> = {}): Harness {
  const clock = new FakeClock();
  const transport = new FakeTransport(clock);
  const layer = new TransactionLayer(transport, { ...opts, clock });
  const tu = new RecordingUser();
  layer.setUser(tu);
  return { clock, transport, layer, tu };
}

/** Let promise callbacks (send resolutions/rejections) run. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await Promise.resolve();
  await new Promise<void>((r) => setImmediate(r));
}

export function transportError(): TransportError {
  return new TransportError('send_failed', 'boom');
}

let callSeq = 0;

/** An outbound request as the TU builds it (no Via: the layer adds ours). */
export function outRequest(
  method: string,
  opts: { toTag?: string; routes?: string[]; seq?: number } = {},
): SipRequest {
  const callId = `call-${++callSeq}@test`;
  const seq = opts.seq ?? 1;
  const lines = [
    `${method} sip:bob@192.0.2.20:5070 SIP/2.0`,
    ...(opts.routes ?? []).map((r) => `Route: ${r}`),
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=from1',
    `To: <sip:bob@example.com>${opts.toTag === undefined ? '' : `;tag=${opts.toTag}`}`,
    `Call-ID: ${callId}`,
    `CSeq: ${seq} ${method}`,
    'Content-Length: 0',
    '',
    '',
  ];
  // A temporary Via so the parser accepts it; removed so the layer starts from a Via-less request.
  const req = parseMessage(
    Buffer.from(
      `${lines[0]}\r\nVia: SIP/2.0/UDP tmp.invalid;branch=z9hG4bKtmp\r\n${lines.slice(1).join('\r\n')}`,
    ),
  ) as SipRequest;
  req.remove('via');
  return req;
}

/** A response to a request we sent (copies Via, From, To, Call-ID, CSeq). */
export function responseTo(req: SipRequest, status: number, toTag = 'totag1', reason = 'X'): string {
  const via = req.getAll('via');
  const to = req.get('to')!;
  const toLine = status === 100 || /;tag=/.test(to) ? to : `${to};tag=${toTag}`;
  return [
    `SIP/2.0 ${status} ${reason}`,
    ...via.map((v) => `Via: ${v}`),
    `From: ${req.get('from')}`,
    `To: ${toLine}`,
    `Call-ID: ${req.callId}`,
    `CSeq: ${req.get('cseq')}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

export interface InboundOpts {
  readonly branch?: string | null;
  readonly sentBy?: string;
  readonly callId?: string;
  readonly seq?: number;
  readonly toTag?: string;
  readonly fromTag?: string;
  readonly uri?: string;
  readonly cseqMethod?: string;
}

/** A request as a peer sends it to us. `branch: null` makes an RFC 2543 Via (no branch). */
export function inRequest(method: string, o: InboundOpts = {}): string {
  const branch = o.branch === undefined ? 'z9hG4bKpeer1' : o.branch;
  const via = `SIP/2.0/UDP ${o.sentBy ?? '192.0.2.20:5070'}${branch === null ? '' : `;branch=${branch}`}`;
  return [
    `${method} ${o.uri ?? 'sip:bob@192.0.2.10'} SIP/2.0`,
    `Via: ${via}`,
    'Max-Forwards: 70',
    `From: <sip:alice@example.com>;tag=${o.fromTag ?? 'peerfrom'}`,
    `To: <sip:bob@example.com>${o.toTag === undefined ? '' : `;tag=${o.toTag}`}`,
    `Call-ID: ${o.callId ?? 'incall@test'}`,
    `CSeq: ${o.seq ?? 1} ${o.cseqMethod ?? method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}
