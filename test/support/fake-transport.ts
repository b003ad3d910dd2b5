/**
 * A TransactionTransport that records what the transaction layer sends (parsed, with the fake time) and lets
 * a test inject what peers send. No socket: shared by the transaction tests (test/unit/sip/transaction) and
 * the in-process B2BUA harness (test/support/b2bua-harness.ts).
 */
import { SipParseError } from '../../src/sip/message/errors.js';
import type { SipMessage, SipRequest, SipResponse } from '../../src/sip/message/message.js';
import { parseMessage } from '../../src/sip/message/parse.js';
import { serializeMessage } from '../../src/sip/message/serialize.js';
import type { TransactionTransport } from '../../src/sip/transaction/types.js';
import { responseTarget } from '../../src/sip/transport/response-target.js';
import type {
  Endpoint,
  Flow,
  InboundMessage,
  InboundParseError,
  Target,
  TransportError,
  TransportProtocol,
} from '../../src/sip/transport/types.js';
import type { FakeClock } from './fake-clock.js';

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
      local: this.local,
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
