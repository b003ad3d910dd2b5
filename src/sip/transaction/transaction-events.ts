import { channel } from 'node:diagnostics_channel';
import type { TransportErrorCode, TransportProtocol } from '../transport/types.js';

/**
 * What the transaction layer publishes on `node:diagnostics_channel` (metrics and logs subscribe).
 * Publishing is guarded by `hasSubscribers`: an unobserved event costs one branch. Payloads carry
 * low-cardinality labels only (method is folded to a known set by `methodLabel`).
 */
export interface TransactionEventMap {
  'stirgate:transaction:created': TransactionLabels;
  'stirgate:transaction:terminated': TransactionLabels & {
    readonly cause: TerminationCause;
    readonly durationMs: number;
  };
  /** We sent a retransmission: request (Timer A/E), final response (Timer G), 2xx (§13.3.1.4) or a
   * response re-sent because the request was retransmitted. */
  'stirgate:transaction:retransmit': TransactionLabels & { readonly timer: RetransmitReason };
  /** A retransmission from the peer was absorbed by a transaction. */
  'stirgate:transaction:absorbed': TransactionLabels & { readonly what: 'request' | 'response' | 'ack' };
  'stirgate:transaction:timeout': TransactionLabels & { readonly timer: TimeoutTimer };
  'stirgate:transaction:transport_error': TransactionLabels & { readonly code: TransportErrorCode };
  /** A response that matched no client transaction (passed to TransactionUser.onStrayResponse). */
  'stirgate:transaction:stray_response': { readonly method: string; readonly statusClass: string };
  /** A response the layer sent outside any transaction: the answer to a request the parser refused. */
  'stirgate:transaction:stateless_response': {
    readonly status: number;
    readonly why: StatelessReason;
  };
  /** Inbound input the layer dropped without answering. */
  'stirgate:transaction:dropped': { readonly why: DropReason };
  /** A listener or TU callback threw; the layer caught it so the state machine stays consistent. */
  'stirgate:transaction:handler_error': { readonly where: string; readonly error: unknown };
}

export interface TransactionLabels {
  readonly side: 'client' | 'server';
  readonly method: string;
  readonly protocol: TransportProtocol;
}

export type TerminationCause = 'normal' | 'timeout' | 'transport_error' | 'closed';
export type RetransmitReason = 'A' | 'E' | 'G' | '2xx' | 'request_retransmission' | 'ack';
export type TimeoutTimer = 'B' | 'F' | 'H' | 'cancel' | 'ack' | 'guard';
export type StatelessReason = 'parse_error' | 'bad_version' | 'too_large';
export type DropReason =
  | 'parse_error_unanswerable'
  | 'malformed_request'
  | 'malformed_response'
  | 'ack_before_final'
  | 'ack_without_tu';

export type TransactionEventName = keyof TransactionEventMap;

export const TRANSACTION_EVENT_NAMES = [
  'stirgate:transaction:created',
  'stirgate:transaction:terminated',
  'stirgate:transaction:retransmit',
  'stirgate:transaction:absorbed',
  'stirgate:transaction:timeout',
  'stirgate:transaction:transport_error',
  'stirgate:transaction:stray_response',
  'stirgate:transaction:stateless_response',
  'stirgate:transaction:dropped',
  'stirgate:transaction:handler_error',
] as const satisfies readonly TransactionEventName[];

const channels = new Map(TRANSACTION_EVENT_NAMES.map((n) => [n, channel(n)]));

/** True when someone subscribed; check before building an event object. */
export function wants(name: TransactionEventName): boolean {
  return channels.get(name)!.hasSubscribers;
}

export function publish<N extends TransactionEventName>(name: N, data: TransactionEventMap[N]): void {
  const ch = channels.get(name)!;
  if (ch.hasSubscribers) ch.publish(data);
}

/** Method as a metric label (unknown methods fold into `other`); it lives with the call path's counts. */
export { methodLabel } from '../message-tally.js';

/** Report an exception thrown by user code we called; never rethrows. */
export function reportHandlerError(where: string, error: unknown): void {
  const ch = channels.get('stirgate:transaction:handler_error')!;
  if (ch.hasSubscribers) ch.publish({ where, error });
  else process.emitWarning(`transaction ${where} handler threw: ${String(error)}`, 'TransactionHandlerError');
}
