import type { SipRequest, SipResponse } from '../../../../src/sip/message/message.js';
import { parseMessage } from '../../../../src/sip/message/parse.js';
import type { TransactionLayerOptions } from '../../../../src/sip/transaction/transaction-layer.js';
import { TransactionLayer } from '../../../../src/sip/transaction/transaction-layer.js';
import type { ServerTransaction, TransactionUser } from '../../../../src/sip/transaction/types.js';
import type { Flow, InboundParseError } from '../../../../src/sip/transport/types.js';
import { TransportError } from '../../../../src/sip/transport/types.js';
import { FakeClock } from '../../../support/fake-clock.js';
import { FakeTransport } from '../../../support/fake-transport.js';

export {
  FakeTransport,
  LOCAL,
  PEER,
  type Sent,
  target,
  tcpFlow,
  udpFlow,
} from '../../../support/fake-transport.js';

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
