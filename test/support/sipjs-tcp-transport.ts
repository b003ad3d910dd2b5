/**
 * A TCP transport for the SIP.js user agent core (sip.js 0.21, `lib/core`), so SIP.js can act as an
 * independent SIP implementation in tests. SIP.js ships only a WebSocket transport in its API layer; its core
 * asks for just `{ protocol, send(string) }` (core/transport.d.ts). This adds the stream side: one outbound
 * TCP connection, messages framed by Content-Length (RFC 3261 §18.3), and `deliverToCore`, which parses a
 * frame with SIP.js's own parser and hands it to the core with the sanity checks SIP.js's `UserAgent`
 * would make (api/user-agent.js `onTransportMessage`).
 */
import { connect, type Socket } from 'node:net';
import {
  IncomingRequestMessage,
  IncomingResponseMessage,
  type Logger,
  Parser,
  type Transport,
  TransportError,
  type UserAgentCore,
} from 'sip.js/lib/core/index.js';

export interface SipJsTcpTransportOptions {
  /** Stirgate's TCP listener. */
  readonly host: string;
  readonly port: number;
  /** Local address to bind (SIP.js's Via host and Contact should name it). */
  readonly localAddress?: string;
  /** Largest frame accepted before the connection is dropped (default 64 KiB). */
  readonly maxMessageBytes?: number;
}

/** Why a frame was not handed to the core. */
export type DeliveryDrop = 'unparsable' | 'missing_header' | 'multiple_via' | 'via_mismatch' | 'short_body';

const CRLF2 = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im;

/** SIP.js core `Transport` over one TCP connection; every frame received goes to `onMessage`. */
export class SipJsTcpTransport implements Transport {
  readonly protocol = 'TCP';
  /** Each complete SIP message received, as text (UTF-8). */
  onMessage: ((message: string) => void) | undefined;
  /** Every message sent and received, in order, for assertions. */
  readonly log: { readonly dir: 'out' | 'in'; readonly text: string }[] = [];
  readonly #opts: SipJsTcpTransportOptions;
  #socket: Socket | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #error: Error | undefined;

  constructor(opts: SipJsTcpTransportOptions) {
    this.#opts = opts;
  }

  /** Connect; resolves with the local port once the connection is up. */
  connect(): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: this.#opts.host,
        port: this.#opts.port,
        ...(this.#opts.localAddress === undefined ? {} : { localAddress: this.#opts.localAddress }),
      });
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', (err) => {
          this.#error = err;
        });
        socket.on('data', (chunk) => this.#onData(chunk));
        this.#socket = socket;
        resolve(socket.localPort!);
      });
    });
  }

  /** The first socket or framing error, if any. */
  get error(): Error | undefined {
    return this.#error;
  }

  get connected(): boolean {
    return this.#socket !== undefined && !this.#socket.destroyed;
  }

  send(message: string): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) {
      return Promise.reject(new TransportError('TCP connection is not open'));
    }
    this.log.push({ dir: 'out', text: message });
    return new Promise((resolve, reject) => {
      socket.write(message, 'utf8', (err) => (err ? reject(new TransportError(err.message)) : resolve()));
    });
  }

  close(): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      socket.once('close', () => resolve());
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  /** RFC 3261 §18.3: on a stream, Content-Length (mandatory) delimits each message. */
  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      // RFC 5626 §3.5.1: CRLF keep-alives between messages are skipped.
      let start = 0;
      while (start < this.#buffer.length && (this.#buffer[start] === 0x0d || this.#buffer[start] === 0x0a))
        start++;
      if (start > 0) this.#buffer = this.#buffer.subarray(start);
      const end = this.#buffer.indexOf(CRLF2);
      if (end < 0) {
        if (this.#buffer.length > (this.#opts.maxMessageBytes ?? 65536))
          this.#fail('header section too large');
        return;
      }
      const head = this.#buffer.subarray(0, end).toString('utf8');
      const m = CONTENT_LENGTH.exec(head);
      if (m === null) {
        this.#fail('message without Content-Length on a stream');
        return;
      }
      const total = end + 4 + Number(m[1]);
      if (total > (this.#opts.maxMessageBytes ?? 65536)) {
        this.#fail('message too large');
        return;
      }
      if (this.#buffer.length < total) return;
      const text = this.#buffer.subarray(0, total).toString('utf8');
      this.#buffer = this.#buffer.subarray(total);
      this.log.push({ dir: 'in', text });
      this.onMessage?.(text);
    }
  }

  #fail(why: string): void {
    this.#error ??= new Error(`framing: ${why}`);
    this.#socket?.destroy();
  }
}

/**
 * Parse one message with SIP.js's parser and pass it to the core, after the checks SIP.js's own UserAgent
 * makes (RFC 3261 §8.1.1 mandatory headers, §8.1.3.3 a single Via in a response, §18.1.2 the Via names us,
 * §18.3 body length). Returns why it was dropped, or undefined when delivered.
 */
export function deliverToCore(
  core: UserAgentCore,
  text: string,
  viaHost: string,
  logger: Logger,
): DeliveryDrop | undefined {
  const message = Parser.parseMessage(text, logger);
  if (message === undefined) return 'unparsable';
  for (const h of ['from', 'to', 'call_id', 'cseq', 'via'])
    if (!message.hasHeader(h)) return 'missing_header';
  const declared = message.getHeader('content-length');
  if (declared !== undefined && Buffer.byteLength(message.body, 'utf8') < Number(declared))
    return 'short_body';
  if (message instanceof IncomingResponseMessage) {
    if (message.getHeaders('via').length > 1) return 'multiple_via';
    if (message.via.host !== viaHost || message.via.port !== undefined) return 'via_mismatch';
    core.receiveIncomingResponseFromTransport(message);
    return undefined;
  }
  if (message instanceof IncomingRequestMessage) core.receiveIncomingRequestFromTransport(message);
  return undefined;
}
